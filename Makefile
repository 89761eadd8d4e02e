# Developer shortcuts; the README's commands work without make.
SEEDS := $(wildcard tests/fixtures/seeds/*.txt)

.PHONY: test record gold lint

test:  ## the README's test command (after `pip install -c constraints.txt -e ".[dev]"`)
	ruff check . && ruff format --check . && mypy && lint-imports && mkdocs build --strict && pytest

lint:
	ruff check --fix . && ruff format .

record:  ## re-record cassettes/ and regenerate examples/ against the embedded model
	pytest tests/test_recorded_seeds.py --record -p no:cacheprovider

gold:  ## recall of the recorded outputs on the gold file
	python -m pipeline.evaluation.gold tests/fixtures/gold_seeds.yaml examples/*.json
