"""One reader per document format, each turning a file into Paragraphs (documents.py picks one).

Each imports its converter library inside the function that reads, so a corpus without that
format never loads it.
"""
