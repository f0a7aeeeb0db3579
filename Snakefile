# augprior: regenerate the tables of "The Augmented Image Prior" (Asano & Saeed, ICLR 2023).
#   snakemake --cores 8 paper_tables/table3.csv                 (scale from params.yaml)
#   snakemake --cores 8                                         (every table and figure)
#   snakemake --cores 2 --config scale=ci paper_tables/table3.csv
# Wiring only: every job is described by augprior.experiments.Plan and run by the library.
import sys

from augprior import config as params_config
from augprior.data import dataset_names
from augprior.experiments import FIGURES, TABLES, Plan

configfile: "params.yaml"

PARAMS = params_config.resolve(config)  # validates params.yaml against workflow/schemas/params.schema.json
PLAN = Plan(PARAMS)
R = PLAN.root
DATASETS = dataset_names()

wildcard_constraints:
    job=".+",

include: "workflow/rules/common.smk"
include: "workflow/rules/teachers.smk"
include: "workflow/rules/patches.smk"
include: "workflow/rules/distill.smk"
include: "workflow/rules/tables.smk"


rule all:
    """Every small-scale table and figure."""
    default_target: True
    input:
        expand("paper_tables/{name}.csv", name=TABLES),
        expand("paper_tables/{name}.png", name=FIGURES),
