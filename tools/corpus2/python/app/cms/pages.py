import richtext

from . import render


def page_title(context):
    return context["page"].parent.slug + "/" + context["page"].slug


def render_page(page):
    tpl = richtext.Template("header | title | body", {"title": page_title})
    return tpl.render({"page": page, "header": "h", "body": "b"})


def render_teaser(page, fields):
    return render.field_block(page, fields)
