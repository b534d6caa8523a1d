"""Index-set tracer for unmodified NumPy code (global and local Jacobian and Hessian patterns).

Split along the same seams as ``anydiff.dual``: the array stand-in and its context
(``_core``), the dispatch by kind of the rule table (``_dispatch``), element moves
(``_shape``), reductions (``_reduce``), contractions (``_contract``), dense blocks
(``_linalg``), ``np.fft`` (``_fft``) and the detectors (``_detectors``).

The global detector never looks at values: ``if x[0] > 0`` raises ``MissingPrimalError``. The
local detector carries the primal values too and follows the branches taken at ``x``.
"""

from ._core import _Tracer
from ._detectors import TracerLocalSparsityDetector, TracerSparsityDetector
from ._dispatch import handler_for

__all__ = ["TracerLocalSparsityDetector", "TracerSparsityDetector", "_Tracer", "handler_for"]
