"""Slow tier: `make adopt DATA=... LABEL=...` makes a user's own table the project's data, and the loop runs on it.

Two tables are made here with the standard library (the template's environment may lack pandas at collection): a
penguin-like one (three string classes, the label first, categories and numbers with gaps, an identifier and a
constant column to leave out) and a loan-like one (booleans, integers, a yes/no label in the middle). One project
adopts the first, runs the pipeline, serves raw rows, checks drift and its own tests; then adopts the second, which
must replace the first cleanly. Bad input is refused in one line and changes nothing.
"""

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.baked import COMBINATIONS, BakedProject, bake, call, project_files, serving

pytestmark = pytest.mark.slow

ROWS = 600
SERVED_ROWS = 48  # one request: under serve.yaml's max_records_per_request (64)
REQUEST_LOG = "logs/requests.jsonl"  # where `make serve` logs served records by default (configs/serve.yaml)
TOLERANCE = 1e-5


# --- the tables: rows as Python values (None: missing), written to CSV as is (None: empty, bools: True/False) ---

SPECIES = {  # share of rows, islands it nests on, mean bill length (mm), flipper length (mm), body mass (g)
    "Adelie": (0.44, ["Biscoe", "Dream", "Torgersen"], 38.8, 190, 3700),
    "Chinstrap": (0.20, ["Dream"], 48.8, 196, 3730),
    "Gentoo": (0.36, ["Biscoe"], 47.5, 217, 5080),
}


def penguins(rows: int, seed: int) -> list[dict]:
    """Palmer-penguin-like: bill length tells Adelie from Chinstrap, flipper and mass tell Gentoo from both."""
    rng = random.Random(seed)
    names = list(SPECIES)
    table = []
    for index in range(rows):
        species = rng.choices(names, weights=[SPECIES[name][0] for name in names])[0]
        _, islands, bill, flipper, mass = SPECIES[species]
        sex = rng.choice(["female", "male"])
        bigger = 1 if sex == "male" else -1
        table.append(
            {
                "species": species,  # the label, first
                "penguin_id": f"N{index // 2 + 1}A{index % 2 + 1}",  # unique per row: left out
                "island": rng.choice(islands) if rng.random() > 0.05 else None,
                "bill_length_mm": round(rng.gauss(bill + 1.5 * bigger, 2.2), 1),
                "flipper_length_mm": round(rng.gauss(flipper + 3 * bigger, 5)) if rng.random() > 0.04 else None,
                "body_mass_g": 25 * round(rng.gauss(mass + 300 * bigger, 300) / 25),
                "sex": sex,
                "year": rng.choice([2007, 2008, 2009]),
                "study": "PAL0910",  # constant: left out
            }
        )
    return table


EMPLOYMENT = {"salaried": 1.5, "self-employed": 0.5, "retired": 0.0, "unemployed": -2.5}  # weight in the decision
REGION = {"north": 0.3, "south": -0.3, "east": 0.0, "west": 0.1}


def loans(rows: int, seed: int) -> list[dict]:
    """Loan-decision-like: approved when guarantor, home, work, age and few dependants outweigh a bar, plus noise."""
    rng = random.Random(seed)
    table = []
    for _ in range(rows):
        age = rng.randint(19, 75)
        employment = rng.choices(list(EMPLOYMENT), weights=[5, 2, 1.5, 1.5])[0]
        has_guarantor, owns_home = rng.random() < 0.4, rng.random() < 0.5
        dependants = rng.choices(range(5), weights=[4, 3, 3, 2, 1])[0]
        region = rng.choice(list(REGION))
        score = 2.0 * has_guarantor + 1.5 * owns_home + EMPLOYMENT[employment] + REGION[region]
        score += 0.04 * (age - 45) - 0.7 * dependants + rng.gauss(0, 0.4)
        table.append(
            {
                "age": age,
                "employment": employment,
                "has_guarantor": has_guarantor,
                "approved": "yes" if score > 1.0 else "no",  # the label, in the middle
                "owns_home": owns_home,
                "dependants": dependants,
                "region": region,
            }
        )
    return table


@dataclass(frozen=True)
class Table:
    file: str
    label: str
    rows: Callable[[int, int], list[dict]]  # (rows, seed) -> the table
    kinds: dict[str, str]  # columns whose kind is beyond doubt -> the kind adopt must print
    left_out: dict[str, str]  # columns adopt must leave out -> the reason it must print
    nullable: tuple[str, ...]  # columns with gaps: a request may send null or leave them out
    unknown: tuple[str, str]  # a category column and a value it never takes
    served_accuracy: float  # the least share of served rows the model must get right (a small MLP: >= 0.9)


PENGUINS = Table(
    file="penguins.csv",
    label="species",
    rows=penguins,
    kinds={"island": "category", "sex": "category", "bill_length_mm": "number", "body_mass_g": "number"},
    left_out={"penguin_id": "unique per row", "study": "constant"},
    nullable=("island", "flipper_length_mm"),
    unknown=("island", "Atlantis"),
    served_accuracy=0.85,
)
LOANS = Table(
    file="loans.csv",
    label="approved",
    rows=loans,
    kinds={"has_guarantor": "boolean", "owns_home": "boolean", "employment": "category", "region": "category"},
    left_out={},
    nullable=(),
    unknown=("employment", "astronaut"),
    served_accuracy=0.8,
)


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


# --- the project and what it says about itself ---


@pytest.fixture(scope="module")
def project(tmp_path_factory, environments) -> BakedProject:
    """A tabular project of this module's own (adoption rewrites its files), baked and `make setup` once.

    It lives under a dot-folder, as a clone in ~/.local/src or a CI cache does: `make package` (in the pipeline)
    must build its bento there too (bentoml refuses a build context under a hidden folder).
    """
    hidden = tmp_path_factory.mktemp("adopt") / ".local" / "src"
    hidden.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(COMBINATIONS, "adopted-table", {"project_name": "Adopted Table"})
        baked = bake(hidden, "adopted-table")
    assert baked.context["task"] == "tabular-classification"
    baked.install(environments)
    return baked


def contract(project: BakedProject) -> dict:
    """The contract as the project's own code reads it: label, classes, columns (dtype, nullable)."""
    code = f"""
import json
from {project.package} import schema
columns = schema.Contract.to_schema().columns
print(json.dumps({{
    "label": schema.LABEL,
    "classes": list(schema.CLASSES),
    "positive_fits": schema.POSITIVE is None or schema.POSITIVE in schema.CLASSES
    or schema.POSITIVE in range(len(schema.CLASSES)),
    "columns": {{name: [str(column.dtype), bool(column.nullable)] for name, column in columns.items()
                 if "left_out" not in (column.metadata or {{}})}},
    "left_out": {{name: column.metadata["left_out"] for name, column in columns.items()
                  if "left_out" in (column.metadata or {{}})}},
}}, default=str))
"""
    return json.loads(project.run(project.python, "-c", code).stdout.strip().splitlines()[-1])


def raw_path(project: BakedProject) -> Path:
    return (project.path / yaml.safe_load((project.path / "configs" / "data.yaml").read_text())["raw"]).resolve()


def features(table: Table, rows: list[dict]) -> list[str]:
    return [name for name in rows[0] if name != table.label and name not in table.left_out]


def adopt(project: BakedProject, table: Table, folder: Path, seed: int = 1) -> tuple[list[dict], str]:
    rows = table.rows(ROWS, seed)
    completed = project.make("adopt", DATA=str(write_csv(folder / table.file, rows)), LABEL=table.label)
    return rows, completed.stdout + completed.stderr


def check_adopted(project: BakedProject, table: Table, rows: list[dict], printed: str) -> None:
    """The file, the contract, the test sample and the printed decisions are all this table's."""
    kept = {*features(table, rows), table.label}
    assert raw_path(project) == (project.path / "data" / "raw" / table.file).resolve()
    header, copied = read_csv(raw_path(project))
    assert set(header) == kept and len(copied) == len(rows), header  # left-out columns are out of the copy too
    adopted = contract(project)
    assert adopted["label"] == table.label
    assert adopted["classes"] == sorted({row[table.label] for row in rows})
    assert adopted["positive_fits"], "POSITIVE is neither a class, nor a class index, nor None"
    assert set(adopted["columns"]) == kept, adopted["columns"]
    # Declared, with the reason: a new export or a request that still holds them is taken, and they are ignored.
    assert set(adopted["left_out"]) == set(table.left_out), adopted["left_out"]
    assert all(table.left_out[name] in reason for name, reason in adopted["left_out"].items()), adopted["left_out"]
    header, sample = read_csv(project.path / "tests" / "fixtures" / "sample.csv")
    assert set(header) == kept and 0 < len(sample) <= len(rows), header
    lines = printed.splitlines()
    for column, word in {**table.kinds, **table.left_out}.items():
        assert any(column in line and word in line for line in lines), f"no line says {column}: {word}\n{printed}"


# --- serving raw rows ---


def predict(url: str, records: list[dict], classes: list[str]) -> list[dict]:
    status, body = call(f"{url}/predict", {"records": records})
    assert status == 200, f"POST /predict -> {status} {body[:500]}"
    answers = json.loads(body)
    assert len(answers) == len(records), answers
    for answer in answers:
        assert list(answer) == classes, answer  # the label's own class names, in the contract's order
        assert abs(sum(answer.values()) - 1) <= TOLERANCE and all(0 <= p <= 1 for p in answer.values()), answer
    return answers


def raw_records(table: Table, rows: list[dict]) -> list[dict]:
    """Rows as a client sends them: the whole row (the columns adopt left out too, which the service ignores),
    strings, numbers, true/false, and null (or nothing) for a gap."""
    names = [name for name in rows[0] if name != table.label]
    records = [{name: row[name] for name in names} for row in rows]
    for index, column in enumerate(table.nullable):
        records[2 * index][column] = None
        del records[2 * index + 1][column]
    return records


def check_served(project: BakedProject, table: Table, rows: list[dict], scratch: Path) -> None:
    """Raw rows in, the label's classes out; the smoke file's answers; an unknown category refused; all logged."""
    for stale in project.path.glob(f"{REQUEST_LOG}*"):  # pipeline's smoke test logged too: keep only this traffic
        stale.unlink()
    classes = sorted({row[table.label] for row in rows})
    served = rows[-SERVED_ROWS:]  # the table's own rows: inside the contract whatever margin its ranges have
    records = raw_records(table, served)
    smoke = json.loads((project.path / "artifacts" / "smoke.json").read_text())
    with serving(project, scratch / "serve.log") as url:
        answers = predict(url, records, classes)
        guesses = [max(answer, key=answer.get) for answer in answers]
        right = sum(guess == row[table.label] for guess, row in zip(guesses, served, strict=True))
        assert right / len(served) >= table.served_accuracy, f"{right} of {len(served)} right: {answers}"

        for index, (answer, expected) in enumerate(
            zip(predict(url, smoke["records"], classes), smoke["expected"], strict=True)
        ):
            got = list(answer.values())
            assert all(abs(a - b) <= TOLERANCE for a, b in zip(got, expected, strict=True)), (index, got, expected)

        field, value = table.unknown
        status, body = call(f"{url}/predict", {"records": [{**records[-1], field: value}]})
        assert status == 400 and field in body, f"{field}={value!r} -> {status} {body[:500]}"
        status, body = call(f"{url}/predict", {"records": [{**records[-1], "shoe_size": 42}]})  # a column never seen
        assert status == 400 and "'shoe_size': not a column of the contract" in body, f"{status} {body[:500]}"
    logged = sum(len(path.read_text().splitlines()) for path in project.path.glob(f"{REQUEST_LOG}*"))
    assert logged >= len(records) + len(smoke["records"]), f"{logged} records in {REQUEST_LOG}"


def run_the_loop(project: BakedProject, table: Table, rows: list[dict], scratch: Path) -> None:
    """Pipeline, metrics, the served bento on raw rows, drift of the served log and of a new export. (The project's
    own tests run on adopted tables in tests/test_zoo.py.)"""
    project.make("pipeline")
    metrics = json.loads((project.path / "reports" / "metrics.json").read_text())
    # adopt sets the gate's metric from the classes: one that sees every class alike for several or imbalanced ones
    several = len({row[table.label] for row in rows}) > 2
    assert metrics["primary_metric"] == ("balanced_accuracy" if several else "roc_auc"), metrics
    assert {"accuracy", "f1", "roc_auc"} <= set(metrics["metrics"]), metrics
    assert metrics["metrics"]["roc_auc"] >= 0.8, metrics  # a majority baseline scores 0.5
    assert json.loads((project.path / "artifacts" / "bento.json").read_text())["bento"]

    check_served(project, table, rows, scratch)
    # The exit codes a workflow branches on: 0 no drift, 1 drift, 3 invalid data. make says 2 for any failed step,
    # so the step's own code tells drift from data the contract refuses.
    drift = project.make("drift", CURRENT=REQUEST_LOG, check=False)
    if drift.returncode != 0:
        direct = project.run(project.python, "-m", project.package, "drift", REQUEST_LOG, check=False)
        assert direct.returncode == 1, f"drift exited {direct.returncode}\n{direct.stderr[-3000:]}"
    # A new export of the same table, every column of it (those adopt left out too): checked, not refused.
    export = write_csv(scratch / "export.csv", table.rows(ROWS, 99))
    direct = project.run(project.python, "-m", project.package, "drift", str(export), "--alias", "staging", check=False)
    assert direct.returncode in (0, 1), f"drift of a new export exited {direct.returncode}\n{direct.stderr[-3000:]}"


# --- the tests ---


def test_penguin_table_is_adopted_and_the_whole_loop_runs_on_it(project, tmp_path):
    rows, printed = adopt(project, PENGUINS, tmp_path)
    check_adopted(project, PENGUINS, rows, printed)
    run_the_loop(project, PENGUINS, rows, tmp_path)  # categories, missing values, 3 text labels


def test_a_second_adoption_replaces_the_first_and_the_loop_runs_on_the_loan_table(project, tmp_path):
    if contract(project)["label"] != PENGUINS.label:  # run alone (or on another worker): adopt the first here
        adopt(project, PENGUINS, tmp_path)
    rows, printed = adopt(project, LOANS, tmp_path)
    check_adopted(project, LOANS, rows, printed)
    schema = (project.path / "src" / project.package / "schema.py").read_text()
    left = [name for name in ("species", "penguin_id", "island", "bill_length_mm", "body_mass_g") if name in schema]
    assert not left, f"schema.py still names the first table's columns: {left}"
    run_the_loop(project, LOANS, rows, tmp_path)  # the replacement is what this test adds


def test_a_parquet_file_is_adopted_as_the_same_table_in_csv_is(project, tmp_path):
    rows = loans(ROWS, seed=5)
    data = write_csv(tmp_path / "loans.csv", rows)
    parquet = tmp_path / "loans.parquet"
    project.run(project.python, "-c", f"import pandas as pd; pd.read_csv({str(data)!r}).to_parquet({str(parquet)!r})")
    project.make("adopt", DATA=str(data), LABEL=LOANS.label)
    from_csv = contract(project)
    project.make("adopt", DATA=str(parquet), LABEL=LOANS.label)
    assert raw_path(project) == (project.path / "data" / "raw" / "loans.parquet").resolve()
    assert contract(project) == from_csv
    project.make("validate")  # the pipeline's first step reads the adopted Parquet file


# --- bad input: one line on stderr, exit 2, nothing of the project changed ---


def _table(name: str, rows: list[dict]) -> Callable[[Path], Path]:
    return lambda folder: write_csv(folder / name, rows)


def _bytes(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(content)
        return folder / name

    return write


def _folder(folder: Path) -> Path:
    (folder / "folder.csv").mkdir()
    return folder / "folder.csv"


_SMALL = loans(60, seed=3)
_ONE_CLASS = [{**row, "approved": "yes"} for row in _SMALL]
_LABEL_GAP = [{**row, "approved": None} if index == 7 else row for index, row in enumerate(_SMALL)]
_IDS_ONLY = [{"applicant_id": 1000 + i, "branch": "north", "approved": row["approved"]} for i, row in enumerate(_SMALL)]
# case -> (writes the file and returns its path, LABEL, what the error line must name)
BAD_INPUT = {
    "missing-file": (lambda folder: folder / "nowhere.csv", "approved", "nowhere.csv"),
    "folder": (_folder, "approved", "folder.csv"),
    "binary-file": (_bytes("garbage.csv", bytes(range(256)) * 64), "approved", "garbage.csv"),
    "not-parquet": (_bytes("broken.parquet", b"PAR1 this is not parquet" * 8), "approved", "broken.parquet"),
    "empty-file": (_bytes("empty.csv", b""), "approved", "empty.csv"),
    "header-only": (_bytes("header.csv", b"age,employment,approved\n"), "approved", "header.csv"),
    "unknown-label": (_table("loans.csv", _SMALL), "colour", "colour"),
    "one-class": (_table("one-class.csv", _ONE_CLASS), "approved", "approved"),
    "missing-label-value": (_table("gap.csv", _LABEL_GAP), "approved", "approved"),
    "no-usable-feature": (_table("ids.csv", _IDS_ONLY), "approved", "ids.csv"),  # an identifier, a constant
}


@pytest.mark.parametrize("case", [pytest.param(case, id=case) for case in BAD_INPUT])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(project, tmp_path, case):
    write, label, named = BAD_INPUT[case]
    data = write(tmp_path)
    schema, data_yaml = project.path / "src" / project.package / "schema.py", project.path / "configs" / "data.yaml"
    before, contract_before, config_before = project_files(project), schema.read_bytes(), data_yaml.read_bytes()

    completed = project.make("adopt", DATA=str(data), LABEL=label, check=False)
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert completed.returncode != 0 and len(errors) == 1, completed.stdout + completed.stderr
    assert named in errors[0], errors[0]

    direct = project.run(project.python, "-m", project.package, "adopt", str(data), "--label", label, check=False)
    assert direct.returncode == 2, direct.stdout + direct.stderr
    assert direct.stderr.strip().splitlines() == errors, direct.stderr  # one line, and nothing else on stderr

    assert schema.read_bytes() == contract_before and data_yaml.read_bytes() == config_before
    after = project_files(project)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"bad input changed {changed}"
