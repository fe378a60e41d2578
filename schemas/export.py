"""`python -m schemas.export [DIR]`: write one JSON Schema file per message into schemas/json/."""

import json
import sys
from pathlib import Path

from schemas.messages import ALL_MESSAGES

DEFAULT_DIR = Path(__file__).parent / "json"


def render() -> dict[str, str]:
    """File name → content, for every message (used by the staleness test too)."""
    files = {}
    for model in ALL_MESSAGES:
        schema = model.model_json_schema(mode="serialization")
        name = model.model_fields["type"].default
        files[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def main(target: Path = DEFAULT_DIR) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, content in render().items():
        (target / name).write_text(content)
    print(f"wrote {len(ALL_MESSAGES)} schemas to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
