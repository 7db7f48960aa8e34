"""The README shows what a user needs for the paths issue 13 found undocumented."""

from conftest import REPO

README = (REPO / "README.md").read_text()


def test_readme_shows_the_image_folder_commands():
    assert "## Train on your own images" in README
    assert "gankit train image-folder --data-dir" in README
    assert "configs/image-folder.yaml" in README


def test_readme_shows_shipped_names_theory_and_labels():
    for text in ("gankit train mnist-paper ", 'gankit.load_config("ring8"', "gankit theory",
                 "gankit viz theory", "--labels 7", "high_quality_unit", "--data-dir NEW_PLACE",
                 "train.max_steps=N"):
        assert text in README, text
