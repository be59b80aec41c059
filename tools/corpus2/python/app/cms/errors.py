class RenderError(Exception):
    """What the page layer raises when a page cannot be rendered."""
