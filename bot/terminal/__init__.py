"""The terminal front end: how answers, passages and progress look, and the `docbot chat` loop."""
