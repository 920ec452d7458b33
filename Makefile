include common.mk

.DEFAULT_GOAL := help
.PHONY: help requirements test test-unit test-integration test-http lint format run serve \
	reindex opensearch synth bench openapi terraform package clean

help:
	@echo "make run          set up, generate a demo catalog, index it and serve the APIs"
	@echo "make test         set up and run every test (starts an OpenSearch test node)"
	@echo "make requirements create .venv with the pinned requirements"
	@echo "make lint|format  ruff check / ruff format"
	@echo "make reindex      azul reindex --catalog \$$CATALOG (default: the first catalog)"
	@echo "make opensearch   build and start a local OpenSearch node on port \$$OS_PORT (9200)"
	@echo "make bench        run the benchmarks under scripts/"
	@echo "make terraform    render terraform/*.tf.json for the selected deployment"
	@echo "make terraform-bootstrap  create the selected deployment's Terraform state bucket (once)"
	@echo "make deploy       render, then terraform init + apply the selected deployment"
	@echo "make create       create the indices of every catalog (\$$CATALOG: of one)"
	@echo "make delete       delete every index of the deployment (\$$CATALOG: of one catalog)"
	@echo "make package      build both Lambda packages of the selected deployment in build/"

requirements: $(VENV_STAMP)

# checkov's dependencies conflict with our pins (boto3, packaging): own venv
CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): terraform/requirements.checkov.txt
	test -d .venv-checkov || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q -r terraform/requirements.checkov.txt
	touch $@

test: $(VENV_STAMP) $(CHECKOV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python -m pytest -n 2 --dist loadgroup test

test-unit: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python -m pytest test/unit

test-integration: $(VENV_STAMP) $(CHECKOV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python -m pytest test/integration

test-http: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python -m pytest test/http

lint: $(VENV_STAMP)
	$(VENV_BIN)/ruff check src test scripts lambdas terraform environment.py deployments

format: $(VENV_STAMP)
	$(VENV_BIN)/ruff format src test scripts lambdas terraform environment.py deployments
	$(VENV_BIN)/ruff check --fix src test scripts lambdas terraform environment.py deployments

run: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/azul run

serve: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/azul serve

CATALOG ?=
reindex: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/azul reindex $(if $(CATALOG),--catalog $(CATALOG))

OS_PORT ?= 9200
opensearch:
	$(PYTHON) scripts/opensearch/node.py --port $(OS_PORT)

bench: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python scripts/bench_indexer.py
	$(WITH_ENV) $(VENV_BIN)/python scripts/bench_backends.py --docs 100000

terraform: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python scripts/render_terraform.py

# The state bucket, kept in a local state of its own (see terraform/bootstrap)
terraform-bootstrap: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python scripts/render_terraform.py --bootstrap
	cd terraform/bootstrap && terraform init -input=false && terraform apply $(TF_APPLY_ARGS)

# TF_APPLY_ARGS=-auto-approve in a pipeline. The state bucket's name holds the
# account's id, which only the credentials tell.
TF_APPLY_ARGS ?=
# Then Azul's aggregations onto the OpenSearch domain, if the deployment has
# one (see azul.deploy.opensearch_plugin)
deploy: terraform
	bucket="$$($(WITH_ENV) $(VENV_BIN)/python scripts/render_terraform.py --state-bucket)" \
		&& cd terraform \
		&& terraform init -input=false -reconfigure -backend-config="bucket=$$bucket" \
		&& terraform apply -input=false $(TF_APPLY_ARGS) \
		&& if terraform output -json opensearch_plugin > .opensearch_plugin.json 2> /dev/null; \
		then cd .. && $(WITH_ENV) $(VENV_BIN)/python -m azul.deploy.opensearch_plugin \
			< terraform/.opensearch_plugin.json; fi

# The indices of the selected deployment's catalogs, through its backend
# (against AWS: AZUL_ES_ENDPOINT and AZUL_MANIFEST_BUCKET in
# deployments/<name>/environment.local.py)
create: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/azul indices create $(if $(CATALOG),--catalog $(CATALOG))

# Without CATALOG every index of the deployment, also those of catalogs no longer configured
delete: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/azul indices delete $(if $(CATALOG),--catalog $(CATALOG))

package: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/python -m azul.deploy.package

openapi: $(VENV_STAMP)
	$(WITH_ENV) $(VENV_BIN)/azul openapi --write

clean:
	rm -rf $(VENV) .azul scripts/opensearch/target
