# The two commands: `make demo` and `make test`. Both install what is missing first.
.PHONY: demo test lint bench setup-test setup-demo build release clean-demo fuzz soak

CARGO ?= cargo
DEMO_DIR ?= data/demo
DEMO_LISTEN ?= 127.0.0.1:8080

setup-demo:
	scripts/setup.sh demo

setup-test:
	scripts/setup.sh test

build:
	scripts/setup.sh build
	$(CARGO) build

release:
	scripts/setup.sh build
	$(CARGO) build --release

## Builds, loads the demo boundaries and sample hotspots, prints an admin token, serves the web map.
demo: setup-demo
	$(CARGO) build --release
	DEMO_DIR=$(DEMO_DIR) DEMO_LISTEN=$(DEMO_LISTEN) scripts/demo.sh

## Every test: unit, in-process API, real binary with GDAL ogrinfo, OWSLib and headless Chromium.
## Every suite on the embedded store (SQLite), then the suites of the store's users — API
## scopes, review, reports, surveys and uploads, process faults — again with the store on
## PostgreSQL 15 + PostGIS 3, on a throwaway cluster on a free loopback port (issue 17).
PG_SUITES = --test nodes --test api --test uploads --test review --test reports --test surveys_http --test survey_ingest --test process_faults \
	--test issue13 --test issue15 --test analytics_http --test vector_tiles --test web_review --test web_upload

test: setup-test lint
	$(CARGO) test --all-targets
	d=$$(mktemp -d /tmp/vigil-pg-XXXXXX) && url=$$(scripts/pg-throwaway.sh start $$d) && \
	  VIGIL_TEST_PG_URL=$$url $(CARGO) test $(PG_SUITES); rc=$$?; \
	  scripts/pg-throwaway.sh stop $$d; rm -rf $$d; exit $$rc

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## Benchmarks: criterion micro-benchmarks, the end-to-end run beside pygeoapi/PostGIS, then survey
## ingest beside gdal2tiles and tile serving (issue 3), then KPIs and reports over 1M hotspots and
## hotspot statistics (issue 6): Gi* over the whole country beside PySAL esda on the same data; survey
## tiles published to and served from S3-compatible object storage beside the local tile directory
## (issue 17, SeaweedFS), and the bbox items query on one and two PostgreSQL nodes beside the
## embedded store (issue 17, bench/pg_nodes.sh); then the detection figures on imagery the models never saw (issue 12,
## bench/crossgen.sh, about 25 min).
bench: release
	$(CARGO) bench --bench hotspots --bench tiling --bench analytics --bench object_storage
	bench/run.sh
	bench/ingest.sh
	bench/object_tiles.sh
	bench/pg_nodes.sh
	bench/reports.sh
	bench/flag_tiles.sh
	bench/analytics.sh
	bench/classify.sh
	bench/crossgen.sh

clean-demo:
	rm -rf $(DEMO_DIR)

## Fuzzing (nightly features on stable Rust through RUSTC_BOOTSTRAP): each target in fuzz/ runs
## FUZZ_SECONDS from its committed seeds (fuzz/corpus-seeds); crashes land in fuzz/artifacts/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= hotspot_import boundary evidence_jpeg query_string upload_chunk tile_path
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && cp -n corpus-seeds/$$t/* corpus/$$t/ ; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

## Mixed traffic against a release `vigil serve` on loopback with a kill -9 and restart every
## RESTART_EVERY seconds, for DURATION seconds (default 600); reconciles counts with the audit log.
soak: release
	bench/soak.sh
