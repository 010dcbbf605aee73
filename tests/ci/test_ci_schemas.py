"""Offline schemas: CRDs become strict JSON schemas, Kubernetes kinds standalone files kubeconform loads."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from ci.checks import Rendered, kubeconform
from ci.schemas import SchemaLocations, ensure_schemas, write_crd_schemas
from ci.validate import validate

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL_CRDS = FIXTURES / "crds-minimal"
GOOD_DEV = FIXTURES / "good" / "rollouts" / "envs" / "dev" / "demo-agent"


def kubeconform_problems(tmp_path: Path, crds: Path, *docs: dict[str, object]) -> list[str]:
    file = tmp_path / "input.yaml"
    file.write_text(yaml.safe_dump_all(docs))
    locations = SchemaLocations(kubernetes=ensure_schemas().kubernetes, crds=crds)
    return [
        f"{p.object}: {p.field}: {p.message}"
        for p in kubeconform.check([Rendered("input", file, [])], locations)
    ]


def widget(spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def test_crd_schemas_use_the_catalog_layout_and_reject_unknown_fields(tmp_path: Path) -> None:
    crds = tmp_path / "crds"
    written = write_crd_schemas(MINIMAL_CRDS, crds)
    assert [p.relative_to(crds).as_posix() for p in written] == ["example.com/widget_v1.json"]
    assert json.loads(written[0].read_text())["properties"]["spec"]["additionalProperties"] is False

    valid = [
        widget({"port": 8080, "settings": {"anything": {"goes": 1}}, "owner": None}),
        widget({"port": "http", "owner": "team-a"}),
    ]
    assert kubeconform_problems(tmp_path, crds, *valid) == []
    assert kubeconform_problems(tmp_path, crds, widget({"colour": "red"})) == [
        "Widget/w: spec: additional properties 'colour' not allowed"
    ]
    assert kubeconform_problems(tmp_path, crds, widget({"port": 1.5})) != []


def test_kubernetes_schemas_are_standalone_and_strict(tmp_path: Path) -> None:
    kubernetes = ensure_schemas().kubernetes
    deployment = json.loads((kubernetes / "deployment-apps-v1.json").read_text())
    refs = json.dumps(deployment).split('"$ref": ')[1:]
    assert refs and all(ref.startswith('"#/$defs/') for ref in refs)

    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}]},
    }
    assert kubeconform_problems(tmp_path, tmp_path, service) == []
    service["spec"] = {"ports": [{"prot": 80}]}
    problems = kubeconform_problems(tmp_path, tmp_path, service)
    assert "Service/s: spec.ports[0]: additional properties 'prot' not allowed" in problems


def test_a_kind_without_a_schema_is_an_error() -> None:
    report = validate([GOOD_DEV], crd_dir=MINIMAL_CRDS, policy=False)
    assert not report.ok
    rollout = [p for p in report.problems if p.object == "Rollout/demo-agent" and p.check == "kubeconform"]
    assert [p.message for p in rollout] == ["could not find schema for Rollout"]


def test_schema_generation_is_idempotent() -> None:
    first = ensure_schemas()
    schema = first.crds / "argoproj.io" / "rollout_v1alpha1.json"
    before = schema.stat().st_mtime_ns
    assert ensure_schemas() == first
    assert schema.stat().st_mtime_ns == before


def test_crds_exported_from_a_cluster_as_one_list_are_read(tmp_path: Path) -> None:
    """`kubectl get crd -o yaml > crds.yaml` writes a List; users point --crd-dir at that."""
    crd = yaml.safe_load((MINIMAL_CRDS / "widget-crd.yaml").read_text())
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "crds.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [crd]}))
    written = write_crd_schemas(exported, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == ["example.com/widget_v1.json"]


def test_make_schemas_without_crds_says_so_in_one_line(tmp_path: Path) -> None:
    """`make schemas` in a clone with no CRD folder: one line naming the folder, not a traceback."""
    missing = tmp_path / "no-crds"
    result = subprocess.run(
        [sys.executable, "-m", "ci.schemas", "--crd-dir", str(missing)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ci.schemas: {missing}: CRD folder not found (set --crd-dir or $AGENT_ROLLOUTS_CRD_DIR)"
    ]
