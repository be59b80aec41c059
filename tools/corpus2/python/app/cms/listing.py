def ordered(items):
    return sorted(items, key=lambda i: i["weight"])


def total_price(items):
    return sum(i["price"] for i in items)
