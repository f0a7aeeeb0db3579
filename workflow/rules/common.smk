# Shared helpers for the rules: the job spec of a wildcard, and per-rule resources from params.yaml.


def job_spec(kind):
    return lambda wc: PLAN.lookup(kind, wc.job).spec


def job_inputs(kind):
    return lambda wc: PLAN.inputs(PLAN.lookup(kind, wc.job))


def rule_resources(kind):
    res = PARAMS["resources"][kind]
    return {"mem_mb": res["mem_mb"], "runtime": res["runtime"], "gpu": res["gpu"]}


def rule_threads(kind):
    return PARAMS["resources"][kind]["cpus"]
