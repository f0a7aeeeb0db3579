# augprior: regenerate the tables of "The Augmented Image Prior" (Asano & Saeed, ICLR 2023).
#   snakemake --cores 8 paper_tables/table3.csv                 (scale from params.yaml)
#   snakemake --cores 8                                         (every registered table and figure)
#   snakemake --cores 2 --config scale=ci paper_tables/table3.csv
# Wiring only: every table and figure is a module of augprior.experiments (its cells and jobs), every job's
# files follow augprior.jobs' one results layout, and the library runs them.
import sys

from augprior import config as params_config
from augprior import experiments, jobs, overrides, source_images
from augprior.manifest import dataset_names, image_names
from augprior.experiments import EXPERIMENTS, FIGURES, TABLES
from augprior.rule_helpers import RuleHelpers, requested_targets


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


# validates params.yaml (augprior.options.Params, every scale) before any job; values that differ from the
# committed params.yaml (--configfile, --config, dvc exp run -S) beat the scale block (augprior.overrides)
PARAMS = params_config.resolve(
    config,
    overrides.from_snakemake(
        f"{workflow.basedir}/params.yaml",
        workflow.config_settings.configfiles,
        workflow.config_settings.config,
    ),
)
SCALE = PARAMS["scale"]
DATASETS = dataset_names()
CELLS = experiments.plan(PARAMS)  # table or figure -> its cells
# patch grids can show any manifest or library image, besides the images the tables use
GRID_IMAGES = image_names() + list(source_images.pool_image_info())
# kind -> id -> job: every job a cell needs (and the teachers, patch and synthetic sets those need)
JOBS = experiments.collect(
    CELLS, extra=[jobs.patches_job(PARAMS, image) for image in GRID_IMAGES]
)
# what the rules ask of the plan (augprior.rule_helpers): the job of a wildcard, its files and resources
RULES = RuleHelpers(PARAMS, CELLS, JOBS)
job_param, job_key, job_inputs, job_output, job_log = (
    RULES.job_param,
    RULES.job_key,
    RULES.job_inputs,
    RULES.job_output,
    RULES.job_log,
)
rule_resources, rule_threads, cell_outputs, torchrun_jobs = (
    RULES.rule_resources,
    RULES.rule_threads,
    RULES.cell_outputs,
    RULES.torchrun_jobs,
)
# only about the tables and figures the requested targets make (none requested: all of them)
if _reasons := RULES.empty_cell_reasons(DATASETS, requested_targets(sys.argv[1:])):
    print(
        "augprior: some cells will stay empty (set AUGPRIOR_MIRROR or data.download=true to compute them):\n  "
        + "\n  ".join(_reasons),
        file=sys.stderr,
    )


wildcard_constraints:
    job=".+",


include: "workflow/rules/teachers.smk"
include: "workflow/rules/patches.smk"
include: "workflow/rules/distill.smk"
include: "workflow/rules/compress.smk"
include: "workflow/rules/video.smk"
include: "workflow/rules/audio.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/robustness.smk"


rule all:
    """Every small-scale table and figure."""
    default_target: True
    input:
        [EXPERIMENTS.get(name).target for name in EXPERIMENTS],
