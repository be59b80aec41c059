"""richtext: a third-party template library (installed in a virtualenv or vendored)."""


class Template:
    def __init__(self, text, filters):
        self.text = text
        self.filters = filters

    def render(self, context):
        out = []
        for part in self.text.split("|"):
            out.append(self._apply(part.strip(), context))
        return "".join(out)

    def _apply(self, name, context):
        flt = self.filters.get(name)
        if flt is None:
            return str(context.get(name, ""))
        return _call_filter(flt, context)


def _call_filter(flt, context):
    return str(flt(context))
