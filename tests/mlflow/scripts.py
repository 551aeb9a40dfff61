"""MLflow-only scripts the tests run unmodified, against mlopslab's MLflow server and
against MLflow's own sqlite store, to compare what each then holds."""

LOG = '''
import json, os, sys
import mlflow
from mlflow.entities import Metric, Param, RunTag

mlflow.set_experiment("vision")
names = []
for i, (lr, team) in enumerate([(0.1, "vision"), (0.01, "vision"), (0.03, "nlp"), (0.01, "nlp"), (0.3, "vision")]):
    with mlflow.start_run(run_name=f"run-{i}") as run:
        mlflow.log_params({"lr": lr, "layers": 2 + i % 2})
        mlflow.set_tags({"team": team, "order": str(i)})
        for step in range(1000 if i == 0 else 20):
            mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
        mlflow.log_metric("acc", 0.5 + 0.1 * i)
        client = mlflow.MlflowClient()
        client.log_batch(run.info.run_id, metrics=[Metric("f1", 0.4 + 0.05 * i, 1_700_000_000_000 + i, 0)],
                         params=[Param("optimizer", "adam" if i % 2 else "sgd")], tags=[RunTag("batch", "yes")])
        if i == 1:
            with mlflow.start_run(run_name="child", nested=True):
                mlflow.log_param("depth", 3)
                mlflow.log_metric("acc", 0.99)
        if i == 2:
            path = os.path.join(sys.argv[1], "notes.txt")
            with open(path, "w") as f:
                f.write("the data had duplicates")
            mlflow.log_artifact(path)
            mlflow.log_artifact(path, artifact_path="reports")
        names.append(run.info.run_id)

client = mlflow.MlflowClient()
client.create_registered_model("digits", tags={"team": "vision"}, description="the digits model")
for run_id in names[:2]:
    client.create_model_version("digits", source=f"runs:/{run_id}/model", run_id=run_id, tags={"from": run_id[-4:]})
client.set_registered_model_alias("digits", "champion", "2")
client.set_registered_model_alias("digits", "old", "1")
client.delete_registered_model_alias("digits", "old")
'''

READ = '''
import json, os, sys
import mlflow
from mlflow import MlflowClient

client = MlflowClient()
exp = client.get_experiment_by_name("vision")
queries = [
    ("metrics.loss < 0.5", ["metrics.acc DESC", "attributes.run_name ASC"]),
    ("params.lr = '0.01'", ["attributes.start_time ASC"]),
    ("tags.team = 'vision' and metrics.acc > 0.5", ["metrics.loss ASC"]),
    ("attributes.status = 'FINISHED'", ["params.lr DESC", "attributes.run_name ASC"]),
    ("params.optimizer LIKE 'ad%'", ["metrics.f1 DESC"]),
    ("", ["attributes.run_name DESC"]),
]
found = {"searches": [[r.info.run_name for r in client.search_runs([exp.experiment_id], f, order_by=o)]
                      for f, o in queries]}
runs = {}
for r in client.search_runs([exp.experiment_id], "", max_results=100):
    tags = {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")}
    parent = r.data.tags.get("mlflow.parentRunId")
    history = client.get_metric_history(r.info.run_id, "loss")
    files = sorted(f.path for f in client.list_artifacts(r.info.run_id))
    files += sorted(f.path for f in client.list_artifacts(r.info.run_id, "reports"))
    text = None
    if "notes.txt" in files:
        text = open(client.download_artifacts(r.info.run_id, "notes.txt", sys.argv[1])).read()
    runs[r.info.run_name] = {
        "params": r.data.params, "metrics": r.data.metrics, "tags": tags, "status": r.info.status,
        "parent": client.get_run(parent).info.run_name if parent else None,
        "loss_steps": [m.step for m in history], "loss_values": [m.value for m in history],
        "f1_timestamp": [m.timestamp for m in client.get_metric_history(r.info.run_id, "f1")],
        "artifacts": files, "notes": text, "experiment": r.info.experiment_id == exp.experiment_id,
    }
found["runs"] = runs
names = {r.info.run_id: r.info.run_name for r in client.search_runs([exp.experiment_id], "", max_results=100)}
model = client.get_registered_model("digits")
champion = client.get_model_version_by_alias("digits", "champion")
found["registry"] = {
    "aliases": {k: str(v) for k, v in model.aliases.items()}, "description": model.description, "tags": model.tags,
    "latest": [str(v.version) for v in model.latest_versions],
    "champion": [str(champion.version), names[champion.run_id], champion.tags.get("from") is not None],
    "versions": [[str(v.version), names[v.run_id], v.status] for v in client.search_model_versions("name='digits'")],
    "models": [m.name for m in client.search_registered_models()],
}
print(json.dumps(found, sort_keys=True))
'''
