# Integration scenarios: real binaries against lk-devserver on loopback, with
# the npm SDK peers from tests/node_modules. Each script begins with what it
# proves; a scenario that cannot run here exits 77 (SKIP).
INTEGRATION_TESTS = \
	tests/integration/supervisor_cli.sh \
	tests/integration/systemd.sh \
	tests/integration/oneoff.sh \
	tests/integration/demo_run.sh \
	tests/integration/dispatch.sh \
	tests/integration/crash.sh \
	tests/integration/hang.sh \
	tests/integration/drain.sh \
	tests/integration/reconnect.sh \
	tests/integration/maxjobs.sh \
	tests/integration/hostile.sh \
	tests/integration/node_agent.sh \
	tests/integration/migrate.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/integration/api.mjs \
	tests/integration/node_agent.mjs tests/integration/hostile_client.mjs \
	tests/integration/hostile_server.mjs tests/integration/fake_agent_server.mjs

# Style: the committed .clang-format holds for every C file.
TESTS += tests/format.sh
EXTRA_DIST += tests/format.sh
