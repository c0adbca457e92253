"""Models: the S4D layer and the sequence models built on it. Imports neither tasks/ nor lra/."""
