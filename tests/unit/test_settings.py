from pathlib import Path

import pytest

from core.settings import Settings, explain_settings

pytestmark = pytest.mark.unit


def test_defaults_live_under_argus_home(argus_home: Path) -> None:
    s = Settings()
    assert s.home == argus_home
    assert s.catalog_path.parent == argus_home
    assert s.engine_max_model_len == 4096
    assert s.llm_base_url is None


def test_toml_overrides_default(argus_home: Path, tmp_path: Path) -> None:
    (tmp_path / "argus.toml").write_text('engine_port = 9100\nllm_model = "from-toml"\n')
    s = Settings()
    assert s.engine_port == 9100
    assert s.llm_model == "from-toml"


def test_env_overrides_toml(argus_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "argus.toml").write_text("engine_port = 9100\n")
    monkeypatch.setenv("ARGUS_ENGINE_PORT", "9200")
    assert Settings().engine_port == 9200


def test_arguments_override_env(argus_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGUS_ENGINE_PORT", "9200")
    assert Settings(engine_port=9300).engine_port == 9300


def test_argus_config_names_the_toml_file(argus_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "elsewhere.toml"
    custom.write_text("max_file_mb = 12\n")
    monkeypatch.setenv("ARGUS_CONFIG", str(custom))
    assert Settings().max_file_mb == 12


def test_toml_in_argus_home_is_read(argus_home: Path) -> None:
    argus_home.mkdir(parents=True)
    (argus_home / "argus.toml").write_text("threads = 7\n")
    assert Settings().threads == 7


def test_invalid_value_is_a_clear_error(argus_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGUS_ENGINE_PORT", "not-a-port")
    with pytest.raises(ValueError, match="engine_port"):
        Settings()


def test_explain_names_each_source(argus_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "argus.toml").write_text("engine_port = 9100\n")
    monkeypatch.setenv("ARGUS_LLM_MODEL", "env-model")
    rows = {r.name: r for r in explain_settings(Settings())}
    assert rows["engine_port"].value == 9100 and rows["engine_port"].source.startswith("argus.toml")
    assert rows["llm_model"].value == "env-model" and rows["llm_model"].source == "env ARGUS_LLM_MODEL"
    assert rows["home"].source == "env ARGUS_HOME"
    assert rows["threads"].source == "default"


def test_models_dir_defaults_to_home_and_can_be_shared(argus_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARGUS_MODELS_DIR", raising=False)
    assert Settings().model_cache == argus_home / "models"
    monkeypatch.setenv("ARGUS_MODELS_DIR", "/opt/models")
    assert Settings().model_cache == Path("/opt/models")
