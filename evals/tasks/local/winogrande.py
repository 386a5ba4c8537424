"""Winogrande rows for partial scoring: which filled-in context is right, and the text
after the blank that both contexts are scored on."""


def answer_index(doc) -> int:
    return {"1": 0, "2": 1}[str(doc["answer"])]


def rest_of_sentence(doc) -> str:
    blank = doc["sentence"].index("_")
    return " " + doc["sentence"][blank + 1:].strip()


def filled_contexts(doc) -> list[str]:
    blank = doc["sentence"].index("_")
    return [doc["sentence"][:blank] + doc["option1"], doc["sentence"][:blank] + doc["option2"]]
