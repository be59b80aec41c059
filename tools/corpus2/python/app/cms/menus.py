def build_menu(node, depth=0):
    if not node.get("title"):
        raise ValueError(f"menu item without title at depth {depth}")
    return [node["title"]] + [x for child in node.get("children", []) for x in build_menu(child, depth + 1)]


def nested(depth):
    node = {"title": None}
    for i in range(depth):
        node = {"title": f"m{i}", "children": [node]}
    return node
