# Generated documents: .env.example from the settings classes, the AsyncAPI file and the
# JSON Schemas from schemas/, docs/api.md from the OpenAPI. Tests fail when one is stale.

.PHONY: env-example docs-generated

env-example:  ## regenerate .env.example from the settings classes
	@cd $(ROOT) && env -i PATH="$$PATH" HOME="$$HOME" BILLING_ENV=dev $(PY) -m scripts.env_example

docs-generated: env-example  ## regenerate .env.example, schemas/json, schemas/asyncapi.json, docs/api.md
	@cd $(ROOT) && $(PY) -m schemas.export && $(PY) -m schemas.asyncapi && $(PY) -m scripts.api_docs
