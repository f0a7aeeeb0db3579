# Shared helpers for the rules: the job of a wildcard (looked up in JOBS, collected from the cells in the
# Snakefile), its files, and per-rule resources from params.yaml.


def lookup(kind, job_id):
    try:
        return JOBS[kind][job_id]
    except KeyError:
        raise KeyError(f"no {kind} job {job_id!r} in the plan for scale {SCALE!r}; request a table target "
                       "(or a patch grid of a manifest or library image) instead of an intermediate path") from None


def job_spec(kind):
    return lambda wc: lookup(kind, wc.job).spec


def job_inputs(kind):
    return lambda wc: jobs.inputs(lookup(kind, wc.job))


def job_output(kind, name):
    """The rule output pattern of file `name` of a `kind` job: the one results layout (augprior.jobs)."""
    return jobs.layout(SCALE, kind, "{job}", name)


def job_log(kind):
    return jobs.log_path(SCALE, kind, "{job}")


def rule_resources(kind):
    res = PARAMS["resources"][kind]
    return {"mem_mb": res["mem_mb"], "runtime": res["runtime"], "gpu": res["gpu"]}


def rule_threads(kind):
    return PARAMS["resources"][kind]["cpus"]
