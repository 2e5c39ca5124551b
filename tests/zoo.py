"""A zoo of tables nobody designed the project's tests for: generated, seeded, written with the standard library.

Each shape is one a user brings and the demo's table is not: many classes, a rare class, only categories with
identical rows under different labels, labels as integers or booleans, columns that are mostly missing, dates,
identifiers and free text, and a small semicolon-separated export with decimal commas. Every table has a real
signal (a model can beat the majority class), and nothing else about it is tuned to the project's tests.
"""

import csv
import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shape:
    name: str
    label: str
    rows: Callable[[int, random.Random], list[dict]]  # (rows, rng) -> the table as Python values (None: missing)
    size: int
    what: str
    dialect: dict | None = None  # csv.writer settings and the decimal mark, for an export unlike pandas' default


def many_classes(rows: int, rng: random.Random) -> list[dict]:
    """Ten classes as integers, six measurements, each class a cluster of its own."""
    centres = {label: [rng.uniform(-4, 4) for _ in range(6)] for label in range(10)}
    table = []
    for _ in range(rows):
        label = rng.randrange(10)
        table.append({f"m{i}": round(rng.gauss(centre, 0.8), 3) for i, centre in enumerate(centres[label])})
        table[-1]["digit"] = label
    return table


def rare_class(rows: int, rng: random.Random) -> list[dict]:
    """One row in fifty is the class that matters; it stands out in two of four columns."""
    table = []
    for _ in range(rows):
        fraud = rng.random() < 1 / 51
        table.append(
            {
                "amount": round(rng.lognormvariate(6.5 if fraud else 3.5, 0.6), 2),
                "hour": rng.choice([1, 2, 3, 4]) if fraud else rng.randrange(24),
                "channel": rng.choice(["web", "app", "shop"]),
                "merchant_risk": round(rng.uniform(0, 1), 3),
                "outcome": "fraud" if fraud else "ok",
            }
        )
    return table


def categories_only(rows: int, rng: random.Random) -> list[dict]:
    """Four category columns and nothing else: many rows are identical, and identical rows disagree on the label."""
    table = []
    for _ in range(rows):
        plan, region = rng.choice(["basic", "plus", "pro"]), rng.choice(["north", "south", "east", "west"])
        tenure, support = rng.choice(["<1y", "1-3y", ">3y"]), rng.choice(["none", "email", "phone"])
        score = {"basic": 0.0, "plus": 1.0, "pro": 2.0}[plan] + {"<1y": 0.0, "1-3y": 0.8, ">3y": 1.6}[tenure]
        score += rng.gauss(0, 0.6)
        label = "churned" if score < 1.2 else "stayed" if score < 2.6 else "upgraded"
        table.append({"plan": plan, "region": region, "tenure": tenure, "support": support, "status": label})
    return table


START = datetime.date(2023, 1, 1)


def messy(rows: int, rng: random.Random) -> list[dict]:
    """An export as it comes: an identifier, a date, a free-text note, a mostly-empty column, gaps, a yes/no label
    that also follows the season (the date carries signal of its own)."""
    words = ["late", "delivery", "broken", "refund", "great", "slow", "support", "box", "again", "thanks", "size"]
    table = []
    for index in range(rows):
        day = START + datetime.timedelta(days=rng.randrange(730))
        winter = day.month in (11, 12, 1, 2)
        spend = rng.gauss(80, 25)
        returned = (winter and rng.random() < 0.75) or (not winter and spend > 110 and rng.random() < 0.6)
        table.append(
            {
                "order_id": f"ORD-{100000 + index}",
                "ordered_on": day.isoformat(),
                "spend": round(spend, 2) if rng.random() > 0.05 else None,
                "items": rng.randint(1, 6),
                "coupon": rng.choice(["SPRING", "VIP", "NONE"]) if rng.random() > 0.1 else None,
                "gift_note": " ".join(rng.choices(words, k=rng.randint(2, 6))),
                "referrer": rng.choice(["ads", "friend"]) if rng.random() < 0.15 else None,  # missing in 85%
                "returned": "yes" if returned else "no",
            }
        )
    return table


def european(rows: int, rng: random.Random) -> list[dict]:
    """A small spreadsheet export from a European locale: `;` between fields, decimal commas, cp1252 accents, and a
    true/false label (sixty rows: a test split of twelve)."""
    table = []
    for _ in range(rows):
        good = rng.random() < 0.6
        table.append(
            {
                "Qualität": round(rng.gauss(7.5 if good else 4.5, 1.0), 2),
                "Säure": round(rng.gauss(0.4 if good else 0.75, 0.1), 3),
                "Region": rng.choice(["Müller-Thurgau", "Mosel", "Baden"]),
                "gut": good,
            }
        )
    return table


SHAPES = {
    shape.name: shape
    for shape in [
        Shape("many-classes", "digit", many_classes, 800, "10 classes as integers, numbers only"),
        Shape("rare-class", "outcome", rare_class, 2550, "a 1:50 rare class"),
        Shape("categories-only", "status", categories_only, 900, "only categories; identical rows, different labels"),
        Shape("messy", "returned", messy, 1200, "an identifier, a date, free text, a mostly-empty column"),
        Shape(
            "european",
            "gut",
            european,
            60,
            "60 rows, `;`-separated, decimal commas, cp1252, a true/false label",
            dialect={"delimiter": ";", "decimal": ",", "encoding": "cp1252"},
        ),
    ]
}


# Real tables a package ships (no download): scikit-learn's, which every project installs. name -> (loader, label)
REAL = {
    "wine": ("load_wine", "cultivar"),  # 178 wines, 13 measurements, 3 cultivars
    "iris": ("load_iris", "species"),  # 150 flowers, 4 measurements, 3 species
}
# Two projects adopt the tables, one per test worker, each in turn: about the same time for each half.
HALF = {"many-classes": "a", "categories-only": "a", "european": "a", "iris": "a"}
HALF |= {"rare-class": "b", "messy": "b", "wine": "b"}


def _cell(value, decimal: str) -> object:
    if value is None:
        return ""
    if isinstance(value, float) and decimal != ".":
        return repr(value).replace(".", decimal)
    return value


def write(shape: Shape, folder: Path, rows: int | None = None, seed: int = 0) -> Path:
    """The shape's table as a file in folder (its dialect's separator, decimal mark and encoding)."""
    table = shape.rows(rows or shape.size, random.Random(seed))
    dialect = shape.dialect or {}
    decimal = dialect.get("decimal", ".")
    path = folder / f"{shape.name}.csv"
    with path.open("w", newline="", encoding=dialect.get("encoding", "utf-8")) as handle:
        writer = csv.writer(handle, delimiter=dialect.get("delimiter", ","))
        writer.writerow(list(table[0]))
        writer.writerows([_cell(value, decimal) for value in row.values()] for row in table)
    return path
