from .errors import RenderError


def lookup(page, field):
    if field == "width":
        return int(page.meta[field])
    if field == "tags":
        return ",".join(page.meta[field])
    return page.meta[field]


def field_block(page, fields):
    try:
        return [lookup(page, f) for f in fields]
    except (KeyError, ValueError, TypeError) as e:
        raise RenderError(f"could not render fields {fields} of page {page.id}") from e
