"""nbgrader's configuration for teaching with the course (see README, "Teaching with the course").

Run nbgrader from the repository root; the course folder is classroom/ (not committed):

    classroom/
      gradebook.db                     nbgrader's database (students, scores)
      source/NN_name/NN_name.ipynb     lecture versions: python scripts/assignment.py source NN
      release/NN_name/NN_name.ipynb    what students get: nbgrader generate_assignment NN_name
      submitted/STUDENT/NN_name/       what they hand in (nbgrader collect, or copied there)
      autograded/STUDENT/NN_name/      nbgrader autograde NN_name
      feedback/STUDENT/NN_name/        nbgrader generate_feedback NN_name
    grades.csv                         nbgrader export

The release is made with the same stubs as notebooks/student/: a top-level answer keeps its
`answer = None` line, an answer inside a function body raises "not done yet" when called.
Autograding runs the notebooks in fast mode, so set COURSE_FAST=1 (and COURSE_DATA_DIR) in the
environment you run nbgrader in.
"""

import importlib.util
import sys
from pathlib import Path

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

c = get_config()  # noqa: F821 - nbgrader provides get_config

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "course_assignment", ROOT / "scripts" / "assignment.py"
)
_assignment = importlib.util.module_from_spec(_spec)
sys.modules["course_assignment"] = _assignment  # its dataclasses look their module up there
_spec.loader.exec_module(_assignment)

c.CourseDirectory.root = str(ROOT / "classroom")
c.CourseDirectory.course_id = "cnn-rnn-course"
c.ClearSolutions.code_stub = {"python": _assignment.ANSWER_STUB}
c.GenerateAssignment.preprocessors = [
    _assignment.ClearSolutionsByPlace if step is ClearSolutions else step
    for step in GenerateAssignment.class_traits()["preprocessors"].default()
]
c.Execute.timeout = 300  # seconds per cell: an endless loop is stopped
c.Execute.interrupt_on_timeout = True
