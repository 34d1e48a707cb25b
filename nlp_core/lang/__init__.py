"""Language data: lexical attribute functions shared by all languages, and one package per language."""
