"""The application layer: the one composition root and the operations people perform."""
