"""The pieces of the Gemini analyzer that need no network: prompts, chunking, validation, pricing.

The adapter itself is ``shared.adapters.gemini_analyzer.GeminiAnalyzer``.
"""
