def read_caption(raw):
    return raw.decode("utf-8").strip()
