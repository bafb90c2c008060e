"""The demo corpus: a small set of real media with known content, built with local
tools only, plus labelled queries for the retrieval evaluation (`argus demo-corpus OUT`)."""

from pipelines.demo.corpus import DemoCorpusWarning, build_demo_corpus
from pipelines.demo.manifest import DemoManifest

__all__ = ["DemoCorpusWarning", "DemoManifest", "build_demo_corpus"]
