"""nlp_core: batch NLP pipelines compatible with spaCy's config and data formats."""
__version__ = "0.1.0"
