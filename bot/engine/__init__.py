"""The answer engine: question in, cited answer out (retrieve, evidence, refuse, prompt, generate, ground).

It knows nothing of Discord or terminals; the front ends call `Engine.answer` and render the result.
"""
