def ratio(part, whole):
    return round(part / whole, 3)


def daily(views, visits):
    return {"per_visit": ratio(views, visits)}
