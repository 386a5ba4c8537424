"""HellaSwag rows as multiple-choice documents: the WikiHow/ActivityNet context with its
activity label, the four endings, and the bracketed markup of the source removed."""

import re


def clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[[^\]]*\]", "", text)
    return text.replace("  ", " ")


def process_docs(dataset):
    def to_doc(row):
        context = row["ctx_a"] + " " + row["ctx_b"].capitalize()
        return {"query": clean(row["activity_label"] + ": " + context),
                "choices": [clean(ending) for ending in row["endings"]],
                "label": int(row["label"])}

    return dataset.map(to_doc)
