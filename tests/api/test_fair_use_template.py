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
    tagging = RESOURCES["TaggingFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert tagging["Fn::If"][1] == {"Ref": "TaggingConcurrency"}
    assert "ReservedConcurrentExecutions" not in RESOURCES["ApiFunction"]["Properties"]


# Lambda refuses a reservation that would leave fewer unreserved executions than this
# (the deploy fails), and most accounts have the standard quota.
LAMBDA_MINIMUM_UNRESERVED = 100
STANDARD_ACCOUNT_QUOTA = 1000
README = Path(__file__).resolve().parents[2] / "README.md"


def _reserved(overrides: dict[str, int]) -> dict[str, int]:
    """Each function's reserved concurrency with the template's defaults and ``overrides``
    (the template's own Fn::If on HasPipelineReservation, evaluated)."""
    parameters = {name: int(spec["Default"]) for name, spec in TEMPLATE["Parameters"].items()
                  if spec["Type"] == "Number"} | overrides
    condition = TEMPLATE["Conditions"]["HasPipelineReservation"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PipelineReservedConcurrency"},
                                                     0]}]}
    reserving = parameters["PipelineReservedConcurrency"] != 0
    reserved = {}
    for name, resource in RESOURCES.items():
        value = resource.get("Properties", {}).get("ReservedConcurrentExecutions")
        if value is None:
            continue
        assert value["Fn::If"][0] == "HasPipelineReservation", name
        assert value["Fn::If"][2] == {"Ref": "AWS::NoValue"}, name
        if reserving:
            reserved[name] = parameters[value["Fn::If"][1]["Ref"]]
    return reserved


def test_the_default_reservations_deploy_in_a_standard_account_and_leave_the_api_room():
    total = sum(_reserved({}).values())
    assert set(_reserved({})) == {*PIPELINE, "TaggingFunction"}
    assert 0 < total <= STANDARD_ACCOUNT_QUOTA - LAMBDA_MINIMUM_UNRESERVED
    # The API (and everything unreserved) keeps most of a standard account.
    assert STANDARD_ACCOUNT_QUOTA - total >= STANDARD_ACCOUNT_QUOTA // 2


def test_the_quota_the_defaults_need_is_documented_where_operators_read_it():
    needed = sum(_reserved({}).values()) + LAMBDA_MINIMUM_UNRESERVED
    description = " ".join(TEMPLATE["Parameters"]["PipelineReservedConcurrency"]
                           ["Description"].split())
    assert f"at least {needed}" in description
    assert f"at least {needed}" in " ".join(README.read_text().split())


def test_zero_reserves_nothing_for_small_accounts():
    assert _reserved({"PipelineReservedConcurrency": 0}) == {}
    assert int(TEMPLATE["Parameters"]["PipelineReservedConcurrency"]["MinValue"]) == 0


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
