"""MLflow's model registry routes (registered models, versions, aliases) over the lab's
record of them (core/mlflow_registry.py): kept as MLflow keeps them, apart from the
lab's gated registry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from mlflow.entities.model_registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from mlflow.entities.model_registry.registered_model_alias import RegisteredModelAlias
from mlflow.protos import model_registry_pb2 as pb
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils

from mlopslab.client import LabClient
from mlopslab.core.clock import epoch_ms
from mlopslab.core.mlflow_registry import (
    MlflowAliasSet,
    MlflowModel,
    MlflowModelSaved,
    MlflowVersion,
    MlflowVersionSaved,
)
from mlopslab.mlflow_compat.wire import Body, MlflowError, page, tags_of, to_json


class Registry:
    def __init__(self, client: LabClient) -> None:
        self.client = client
        self._lock = threading.Lock()  # one new version number at a time

    def routes(self) -> dict[tuple[str, str], Callable[[Body], Body]]:
        return {
            ("POST", "/registered-models/create"): self.create_model,
            ("GET", "/registered-models/get"): self.get_model,
            ("GET", "/registered-models/search"): self.search_models,
            ("PATCH", "/registered-models/update"): self.update_model,
            ("POST", "/registered-models/get-latest-versions"): self.latest_versions,
            ("GET", "/registered-models/get-latest-versions"): self.latest_versions,
            ("POST", "/model-versions/create"): self.create_version,
            ("GET", "/model-versions/get"): self.get_version,
            ("GET", "/model-versions/search"): self.search_versions,
            ("PATCH", "/model-versions/update"): self.update_version,
            ("POST", "/registered-models/alias"): self.set_alias,
            ("DELETE", "/registered-models/alias"): self.delete_alias,
            ("GET", "/registered-models/alias"): self.get_by_alias,
        }

    # reading ----------------------------------------------------------------------

    def _models(self) -> dict[str, MlflowModel]:
        return {m.name: m for m in self.client.runs.mlflow_registry()}

    def _model(self, name: str) -> MlflowModel:
        found = self._models().get(name)
        if found is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"no registered model named '{name}'")
        return found

    def _version(self, name: str, version: Any) -> tuple[MlflowModel, MlflowVersion]:
        model = self._model(name)
        found = next((v for v in model.versions if str(v.version) == str(version)), None)
        if found is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"no version {version} of registered model '{name}'")
        return model, found

    @staticmethod
    def version_entity(model: MlflowModel, v: MlflowVersion) -> ModelVersion:
        return ModelVersion(name=v.name, version=str(v.version), creation_timestamp=epoch_ms(v.created_at) or 0,
                            last_updated_timestamp=epoch_ms(v.updated_at), description=v.description, user_id=v.user,
                            current_stage="None", source=v.source, run_id=v.run_id, status=v.status,
                            tags=[ModelVersionTag(k, t) for k, t in v.tags.items()],
                            aliases=[a for a, n in model.aliases.items() if n == v.version])

    def model_entity(self, m: MlflowModel) -> RegisteredModel:
        latest = [self.version_entity(m, m.versions[-1])] if m.versions else []
        return RegisteredModel(name=m.name, creation_timestamp=epoch_ms(m.created_at),
                               last_updated_timestamp=epoch_ms(m.updated_at), description=m.description,
                               latest_versions=latest,
                               tags=[RegisteredModelTag(k, t) for k, t in m.tags.items()],
                               aliases=[RegisteredModelAlias(a, str(n)) for a, n in m.aliases.items()])

    def get_model(self, body: Body) -> Body:
        return to_json(pb.GetRegisteredModel.Response(
            registered_model=self.model_entity(self._model(str(body.get("name", "")))).to_proto()))

    def search_models(self, body: Body) -> Body:
        found = [self.model_entity(m) for m in self._models().values()]
        chosen, token = page(found, body, SearchModelUtils, ["name ASC"], 100)
        reply = pb.SearchRegisteredModels.Response(registered_models=[m.to_proto() for m in chosen])
        if token:
            reply.next_page_token = token
        return to_json(reply)

    def latest_versions(self, body: Body) -> Body:
        model = self._model(str(body.get("name", "")))
        latest = [self.version_entity(model, model.versions[-1])] if model.versions else []
        return to_json(pb.GetLatestVersions.Response(model_versions=[v.to_proto() for v in latest]))

    def get_version(self, body: Body) -> Body:
        model, version = self._version(str(body.get("name", "")), body.get("version"))
        return to_json(pb.GetModelVersion.Response(model_version=self.version_entity(model, version).to_proto()))

    def search_versions(self, body: Body) -> Body:
        found = [self.version_entity(m, v) for m in self._models().values() for v in m.versions]
        chosen, token = page(found, body, SearchModelVersionUtils, ["name ASC", "version_number DESC"], 10_000)
        reply = pb.SearchModelVersions.Response(model_versions=[v.to_proto() for v in chosen])
        if token:
            reply.next_page_token = token
        return to_json(reply)

    def get_by_alias(self, body: Body) -> Body:
        model = self._model(str(body.get("name", "")))
        alias = str(body.get("alias", ""))
        if alias not in model.aliases:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"registered model '{model.name}' has no alias '{alias}'")
        _, version = self._version(model.name, model.aliases[alias])
        found = self.version_entity(model, version).to_proto()
        return to_json(pb.GetModelVersionByAlias.Response(model_version=found))

    # writing ----------------------------------------------------------------------

    def create_model(self, body: Body) -> Body:
        name = str(body.get("name") or "").strip()
        if not name:
            raise MlflowError("INVALID_PARAMETER_VALUE", "a registered model needs a name")
        if name in self._models():
            raise MlflowError("RESOURCE_ALREADY_EXISTS", f"registered model '{name}' already exists")
        self.client.write([MlflowModelSaved(name=name, description=str(body.get("description") or ""),
                                            tags=tags_of(body), ts=time.time())])
        made = self.model_entity(self._model(name)).to_proto()
        return to_json(pb.CreateRegisteredModel.Response(registered_model=made))

    def update_model(self, body: Body) -> Body:
        model = self._model(str(body.get("name", "")))
        self.client.write([MlflowModelSaved(name=model.name, description=str(body.get("description") or ""),
                                            tags=model.tags, ts=time.time())])
        return to_json(pb.UpdateRegisteredModel.Response(
            registered_model=self.model_entity(self._model(model.name)).to_proto()))

    def create_version(self, body: Body) -> Body:
        name = str(body.get("name", ""))
        with self._lock:
            model = self._model(name)
            number = max((v.version for v in model.versions), default=0) + 1
            self.client.write([MlflowVersionSaved(
                name=name, version=number, source=str(body.get("source") or ""),
                run_id=str(body["run_id"]) if body.get("run_id") else None,
                description=str(body.get("description") or ""), tags=tags_of(body), ts=time.time())])
        model, version = self._version(name, number)
        return to_json(pb.CreateModelVersion.Response(model_version=self.version_entity(model, version).to_proto()))

    def update_version(self, body: Body) -> Body:
        model, v = self._version(str(body.get("name", "")), body.get("version"))
        self.client.write([MlflowVersionSaved(name=v.name, version=v.version, source=v.source, run_id=v.run_id,
                                              status=v.status, description=str(body.get("description") or ""),
                                              tags=v.tags, user=v.user, ts=time.time())])
        model, v = self._version(v.name, v.version)
        return to_json(pb.UpdateModelVersion.Response(model_version=self.version_entity(model, v).to_proto()))

    def set_alias(self, body: Body) -> Body:
        model, version = self._version(str(body.get("name", "")), body.get("version"))
        self.client.write([MlflowAliasSet(name=model.name, alias=str(body.get("alias", "")), version=version.version,
                                          ts=time.time())])
        return {}

    def delete_alias(self, body: Body) -> Body:
        model = self._model(str(body.get("name", "")))
        self.client.write([MlflowAliasSet(name=model.name, alias=str(body.get("alias", "")), version=None,
                                          ts=time.time())])
        return {}

