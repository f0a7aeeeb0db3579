from _common import job_context

from augprior import fileio
from augprior.analysis.transfer_224 import evaluate

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    metrics = evaluate(snakemake.params.job.value)  # noqa: F821
    fileio.write_json(snakemake.output.metrics, metrics)  # noqa: F821
    print(f"{metrics['task']} on {metrics['dataset']}: {metrics['metric']} {metrics['top1']:.2f} "
          f"({metrics['n_train']} train / {metrics['n']} val images, {metrics['feature_dim']}-d features)")
