"""The network inside the classifier: what it makes of an encoded row (Inputs), then an MLP.

configs/model.yaml holds build()'s keyword arguments (with the optimiser's); change them, or this module, for your data.
"""

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .features import CATEGORIES, CATEGORY, DATE, DATES, FEATURES, KIND, NULLABLE

# What a date becomes: its age against the training split's latest date (standardised like a number), and where it
# falls in the year, the week and the day as points on circles (December is next to January).
DATE_PARTS = ["age", "month_sin", "month_cos", "day_of_year_sin", "day_of_year_cos", "weekday_sin", "weekday_cos",
              "hour_sin", "hour_cos"]  # fmt: skip


class Inputs(nn.Module):
    """Encoded rows (features.encode) -> the MLP's input, fitted on the training split and saved in the model.

    Numbers and booleans: a missing value takes the training mean, and a 0/1 indicator per nullable column says it
    was missing; then each is standardised. Categories: one-hot over the contract's list plus an "unknown" slot,
    which also takes missing values and categories the training split never showed. Dates (days since 1970): the
    DATE_PARTS, with the age standardised and a missing date all zeros (and its indicator, when nullable).
    """

    def __init__(self, num_features: int):
        super().__init__()
        if num_features != len(FEATURES):
            raise ValueError(f"the contract has {len(FEATURES)} features, the model was asked for {num_features}")
        self.numbers = [index for index, name in enumerate(FEATURES) if KIND[name] not in (CATEGORY, DATE)]
        self.flags = [
            self.numbers.index(FEATURES.index(name)) for name in NULLABLE if KIND[name] not in (CATEGORY, DATE)
        ]
        self.dates = [FEATURES.index(name) for name in DATES]
        self.date_flags = [FEATURES.index(name) for name in DATES if name in NULLABLE]
        self.register_buffer("latest", torch.zeros(len(self.dates)))  # the training split's latest date, per column
        self.register_buffer("age_mean", torch.zeros(len(self.dates)))
        self.register_buffer("age_scale", torch.ones(len(self.dates)))
        self.categories = [(FEATURES.index(name), len(values) + 1) for name, values in CATEGORIES.items()]
        self.register_buffer("mean", torch.zeros(len(self.numbers)))
        self.register_buffer("scale", torch.ones(len(self.numbers)))
        # For each category column, code -> the slot it takes: itself if training saw it, else 0 ("unknown").
        self.register_buffer(
            "slot", torch.cat([torch.arange(size) for _, size in self.categories] or [torch.zeros(0)]).long()
        )
        self.width = len(self.numbers) + len(self.flags) + sum(size for _, size in self.categories)
        self.width += len(self.dates) * len(DATE_PARTS) + len(self.date_flags)

    def fit(self, features: torch.Tensor | Iterable[torch.Tensor]) -> None:
        """Learn the imputation, the scaling and the categories seen from the training split's encoded rows: one
        tensor, or the split in chunks (a streamed pass over its shards; the statistics are sums, so they agree)."""
        count = total = squares = None
        seen = [torch.zeros(size, dtype=torch.bool) for _, size in self.categories]
        latest = torch.full((len(self.dates),), float("-inf"), dtype=torch.float64)
        for chunk in [features] if isinstance(features, torch.Tensor) else features:
            values = chunk[:, self.numbers + self.dates].double()
            present = ~torch.isnan(values)
            zeros = values.nan_to_num(0.0)
            sums = (present.sum(dim=0), zeros.sum(dim=0), (zeros**2).sum(dim=0))
            count, total, squares = sums if count is None else (count + sums[0], total + sums[1], squares + sums[2])
            for slot, (index, size) in enumerate(self.categories):
                seen[slot] |= torch.bincount(chunk[:, index].long(), minlength=size)[:size] > 0
            if self.dates:
                days = values[:, len(self.numbers) :].nan_to_num(float("-inf"))
                latest = torch.maximum(latest, days.max(dim=0).values)
        if count is None:
            raise ValueError("no training rows to fit the inputs on")
        mean = (total / count.clamp_min(1)).where(count > 0, 0.0)  # a column missing everywhere: 0
        spread = (squares / count.clamp_min(1) - mean**2).clamp_min(0.0).sqrt().where(count > 0, 0.0)
        numbers = len(self.numbers)
        self.mean.copy_(mean[:numbers].float())
        self.scale.copy_(spread[:numbers].clamp_min(1e-6).float())
        offset = 0
        for slot, (_, size) in enumerate(self.categories):
            self.slot[offset : offset + size] = torch.where(seen[slot], torch.arange(size), 0)
            offset += size
        if self.dates:
            self.latest.copy_(torch.where(torch.isinf(latest), 0.0, latest).float())
            # A date's age is latest - date: its mean is latest - the dates' mean, its spread the dates' spread.
            self.age_mean.copy_((self.latest.double() - mean[numbers:]).where(count[numbers:] > 0, 0.0).float())
            self.age_scale.copy_(spread[numbers:].clamp_min(1e-6).float())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        numbers = features[:, self.numbers]
        missing = torch.isnan(numbers)
        parts = [(torch.where(missing, self.mean, numbers) - self.mean) / self.scale]
        if self.flags:
            parts.append(missing[:, self.flags].to(features.dtype))
        offset = 0
        for index, size in self.categories:
            codes = features[:, index].nan_to_num(0.0).long()
            codes = torch.where((codes > 0) & (codes < size), codes, 0)  # missing or beyond the list: unknown
            slots = self.slot[offset + codes]
            parts.append((slots.unsqueeze(1) == torch.arange(size, device=features.device)).to(features.dtype))
            offset += size
        if self.dates:
            parts.append(self._dates(features[:, self.dates]))
        if self.date_flags:
            parts.append(torch.isnan(features[:, self.date_flags]).to(features.dtype))
        return torch.cat(parts, dim=1)

    def _dates(self, days: torch.Tensor) -> torch.Tensor:
        """DATE_PARTS of each date column, side by side (all zeros where a date is missing)."""
        missing = torch.isnan(days)
        days = torch.where(missing, self.latest, days)
        age = (self.latest - days - self.age_mean) / self.age_scale
        whole = torch.floor(days)
        month, day_of_year = _calendar(whole)
        turns = [month / 12, day_of_year / 366, torch.remainder(whole + 3, 7) / 7, days - whole]  # 1970-01-01: Thu
        circle = [f(2 * torch.pi * turn) for turn in turns for f in (torch.sin, torch.cos)]
        stacked = torch.stack([age, *circle], dim=2)  # (rows, dates, parts)
        return torch.where(missing.unsqueeze(2), 0.0, stacked).flatten(1)


def _calendar(days: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Month (0-11) and day of the year (0-365) of whole days since 1970-01-01, by arithmetic alone (H. Hinnant's
    civil_from_days), so that the exported model computes them as training did."""
    z = days + 719468
    era = torch.floor(z / 146097)
    day_of_era = z - era * 146097
    year_of_era = torch.floor(
        (
            day_of_era
            - torch.floor(day_of_era / 1460)
            + torch.floor(day_of_era / 36524)
            - torch.floor(day_of_era / 146096)
        )
        / 365
    )
    year = year_of_era + era * 400
    from_march = day_of_era - (365 * year_of_era + torch.floor(year_of_era / 4) - torch.floor(year_of_era / 100))
    march_month = torch.floor((5 * from_march + 2) / 153)  # 0 is March
    month = torch.remainder(march_month + 2, 12)  # 0 is January
    year = year + (march_month >= 10).to(days.dtype)
    leap = ((torch.remainder(year, 4) == 0) & (torch.remainder(year, 100) != 0)) | (torch.remainder(year, 400) == 0)
    day_of_year = torch.where(march_month >= 10, from_march - 306, from_march + 59 + leap.to(days.dtype))
    return month, day_of_year


def build(num_inputs: int, num_classes: int, hidden_sizes: Sequence[int] = (64, 32), dropout: float = 0.1) -> nn.Module:
    """Inputs -> (Linear, ReLU, Dropout) per hidden size -> class logits."""
    layers: list[nn.Module] = []
    width = num_inputs
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
