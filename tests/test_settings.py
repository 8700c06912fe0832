"""Every setting is documented: in its help text and in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from papersift import harvest, mail, settings
from papersift.settings import Settings
from papersift.web import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("describe", [settings.describe, app.describe, harvest.describe,
                                      mail.describe])
def test_every_setting_has_help_and_a_readme_entry(describe: object) -> None:
    for name, _default, help_text in describe():  # type: ignore[operator]
        assert len(help_text) > 20, f"setting {name} needs help text"
        assert f"`{name}`" in README, f"setting {name} is not in README.md"


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        Settings().replace(rrf_kk=1)
