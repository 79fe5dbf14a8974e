from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "kinfold.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation"
