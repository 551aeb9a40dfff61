"""Operations on the model registry: versions, aliases, gates, promotion, lineage."""

from __future__ import annotations

from mlopslab.api.operation import NoArgs, Request, read, write
from mlopslab.core.gate_reports import GateVerdict
from mlopslab.core.lineage import Lineage
from mlopslab.core.model_versions import (
    ModelSummary,
    ModelVersion,
    ModelVersionDetail,
    Registration,
    VersionSummary,
)
from mlopslab.core.registry import (
    AliasHistory,
    AliasHistoryAt,
    AliasRemoval,
    EvaluationSet,
    GatedPromotion,
    Promotion,
)


class ModelName(Request):
    name: str


class ModelRef(Request):
    ref: str


class GateReportRequest(Request):
    report_id: str


class AliasHistoryRequest(Request):
    name: str
    alias: str | None = None
    at: str | None = None


class LineageRequest(Request):
    ref: str


class RegisterRun(Request):
    run_id: str
    name: str | None = None
    actor: str | None = None
    data: str | None = None
    target: str | None = None


class RegisterFile(Request):
    path: str
    name: str
    data: str
    target: str
    sensitive: str | None = None
    exclude: list[str] | None = None
    train_data: str | None = None
    primary: str | None = None
    actor: str | None = None
    gates: str | None = None


class SetAlias(Request):
    ref: str
    alias: str
    actor: str | None = None
    reason: str | None = None


class RemoveAlias(Request):
    name: str
    alias: str
    actor: str | None = None
    reason: str | None = None


class Gate(Request):
    ref: str
    actor: str | None = None
    gates: str | None = None
    data: str | None = None


class SetEvaluationSet(Request):
    name: str
    data: str
    actor: str | None = None
    reason: str | None = None


class Promote(Request):
    ref: str
    actor: str | None = None
    force: bool = False
    reason: str | None = None
    gates: str | None = None


MODELS = read("models", NoArgs, list[ModelSummary], "Every model name with its versions and aliases.")
MODEL_VERSIONS = read("model_versions", ModelName, list[VersionSummary], "The versions of one model.")
MODEL_VERSION = read("model_version", ModelRef, ModelVersionDetail,
                     "One version (NAME@V or NAME@alias) with its gate reports.")
GATE_REPORT = read("gate_report", GateReportRequest, GateVerdict, "One gate report with its checks.")
ALIAS_HISTORY = read("alias_history", AliasHistoryRequest, AliasHistory | AliasHistoryAt,
                     "Every move of a model's aliases (or one alias), and where it pointed at a time.")
LINEAGE = read("lineage", LineageRequest, Lineage,
               "The graph around a run, model version, data hash or deployment.")
EVALUATION_SETS = read("evaluation_sets", ModelName, list[EvaluationSet],
                       "The evaluation sets of a model, the one in force first.")
REGISTER_RUN = write("register_run", RegisterRun, Registration,
                     "Register a finished run's ONNX model as the next version of a model.")
REGISTER_FILE = write("register_file", RegisterFile, Registration,
                      "Register an ONNX file (with its evaluation data) as the next version.")
SET_ALIAS = write("set_alias", SetAlias, ModelVersion, "Point an alias at a version (audited).")
REMOVE_ALIAS = write("remove_alias", RemoveAlias, AliasRemoval, "Remove an alias (audited).")
GATE = write("gate", Gate, GateVerdict,
             "Score a version against the champion on the evaluation set and store the report.")
SET_EVALUATION_SET = write("set_evaluation_set", SetEvaluationSet, EvaluationSet,
                           "Put a new evaluation set in force for a model (audited).")
PROMOTE = write("promote", Promote, GatedPromotion | Promotion,
                "Move the champion alias to a version whose gates pass (or forced, with a reason).")

OPERATIONS = (MODELS, MODEL_VERSIONS, MODEL_VERSION, GATE_REPORT, ALIAS_HISTORY, LINEAGE,
              EVALUATION_SETS, REGISTER_RUN, REGISTER_FILE, SET_ALIAS, REMOVE_ALIAS, GATE,
              SET_EVALUATION_SET, PROMOTE)
