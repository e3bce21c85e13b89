"""Feedback on answers: the votes and refusals database, and the questions the documents did not answer."""
