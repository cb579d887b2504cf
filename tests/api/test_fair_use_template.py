"""template.yaml throttles the API stage and can cap the pipeline functions' concurrency,
so one shop's daily runs cannot take the Lambda concurrency the API needs (#17). moto
enforces neither, so the template itself is checked."""

from __future__ import annotations

from pathlib import Path

from devkit.local_cloud.template import load_sam_template

TEMPLATE = load_sam_template(Path(__file__).resolve().parents[2] / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
PIPELINE = ("SyncFunction", "SegmentsFunction", "MetricsFunction", "ExportFunction",
            "MeasurementsFunction")


def test_the_api_stage_is_throttled_for_every_method():
    settings = RESOURCES["SegliftApi"]["Properties"]["MethodSettings"]
    everything = [s for s in settings if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert everything
    assert everything[0]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert everything[0]["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    assert int(TEMPLATE["Parameters"]["ApiRateLimit"]["Default"]) > 0


def test_every_pipeline_function_can_be_given_reserved_concurrency():
    for name in PIPELINE:
        reserved = RESOURCES[name]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][0] == "HasPipelineReservation", name
        assert reserved["Fn::If"][1] == {"Ref": "PipelineReservedConcurrency"}, name
    assert "ReservedConcurrentExecutions" not in RESOURCES["ApiFunction"]["Properties"]


def test_tag_jobs_are_capped_by_their_queues_maximum_concurrency():
    events = RESOURCES["TaggingFunction"]["Properties"]["Events"]
    scaling = [e["Properties"].get("ScalingConfig") for e in events.values()
               if e["Type"] == "SQS"]
    assert scaling and all(s and "MaximumConcurrency" in s for s in scaling)


def test_no_function_the_api_waits_on_is_allowed_more_time_than_api_gateway_gives():
    """API Gateway answers 504 after 29 s: the API function itself must end before."""
    globals_timeout = TEMPLATE.get("Globals", {}).get("Function", {}).get("Timeout")
    api_timeout = RESOURCES["ApiFunction"]["Properties"].get("Timeout", globals_timeout)
    assert api_timeout <= 29
