"""Prophet champion: Prophet's model (piecewise trend, weekly + yearly Fourier seasonality, Laplace prior on
trend changes, MAP fit), set up with numpy instead of pandas.

``fit_prophet`` builds exactly the stan data Prophet's ``preprocess`` builds (same scaling, changepoint grid,
Fourier features and priors; with ``calendar_peaks``, month-end and quarter-end columns too, as Prophet's
holidays would be: the engine's fits add them only where they earn their place, :func:`with_calendar_peaks`)
and predicts with the same trend formulas. Linear growth's MAP is solved
exactly in numpy (:mod:`.prophet_map`, about 3 ms a fit instead of about 55 ms through Stan's process);
``solver="stan"`` and logistic growth run the compiled model from the prophet wheel (:mod:`.stan`).
``tests/python/test_engines.py`` checks the point forecast against ``prophet.Prophet`` itself and the exact
optimum against Stan's.

Choices (measured in bench/README.md):
- growth: ``linear`` then clipped to [0, 100] by default; ``logistic`` (cap 100, floor 0) selectable.
- yearly Fourier order 5 (Prophet: 10) and 12 potential changepoints (Prophet: 25): same backtest accuracy
  on this data, fewer parameters for L-BFGS; a season every two consecutive years agree on strongly is
  refitted with 10, then 20, each kept where its extra terms lower the BIC (:func:`sharper_season`).
- changepoint_range 0.95 (Prophet: 0.8): with 0.8 a ramp that began in the last 7 months of history is
  extrapolated at the older slope. On the capacity-breach hosts of the default fleet, 0.95 puts the forecast
  crossing of 95% a median 9 days after the generator's true breach (0.8: 43 days late, 28 of 101 imminent
  breaches within 90 days instead of 90), for about 1.5% more backtest error on average.
- extrapolation "consensus" (default; "prophet" keeps Prophet's own): the last 8 weeks are read as a line,
  a step or a hinge, and the trend continues from them where they disagree with Prophet's last segment
  (:func:`consensus_forecast`): a one-off level shift stays a level, growth that levelled off stops, a ramp
  that began after the last changepoint is followed, growth in steps continues by the steps its own cadence
  brings from the days since its last (:func:`staircase_growth`, :meth:`Staircase.outlook`), a level that
  wanders continues from its last level (:func:`wandering_level`);
  series that reset again and again (fills and cleanups) keep Prophet's trend;
  a weekly cycle that grows with the level is forecast at the forecast's level (:func:`level_cycle`). Chosen
  on stress-fleet seed 1 and our own tuning shapes, reported on other seeds (bench/README.md, "Trust").
- changepoint prior 0.03 (Prophet: 0.05): at the exact optimum 0.05 fits slightly more trend change than
  Stan's L-BFGS does when it stops at its tolerance; 0.03 was chosen on the tuning fleets (see the setting).
- with ``solver="stan"`` L-BFGS stops at tol_rel_grad 1e9 (Stan: 1e7): a third fewer iterations.
- intervals: calibrated by horizon on held-out history when the fleet runner provides quantiles
  (:mod:`.intervals`); otherwise Prophet's own recipe (simulated future trend changes + observation noise)
  from a fixed seed. The point forecast is sampled only for a staircase (the mean of its simulated steps to
  come, from the same fixed seed: :meth:`Staircase.outlook`). Where the forecast's slope is read
  from the last weeks alone (a rise or fall steeper than anything before them), that slope's standard error
  times the days ahead is added in quadrature (``recent_slope_uncertainty``), and for a staircase the
  spread of the steps to come around their mean (:meth:`Staircase.outlook`), and for a wandering level its own
  past misses week by week ahead (:meth:`WanderingLevel.widening`): the calibration's errors come from series
  whose slope is known from years.
- the production refit starts cold: a warm start from the backtest fit (``fit_prophet(warm=...)``)
  saved about 4% of its time and changes the result, so it is not used.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from statistics import NormalDist
from typing import Literal

import numpy as np

from python_engines.forecasting.intervals import HorizonQuantiles
from python_engines.forecasting.output import (
    SEGMENT_BACKTEST,
    SEGMENT_FORECAST,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    Band,
    SeriesForecast,
    failed,
)
from python_engines.forecasting.prophet_map import map_linear
from python_engines.forecasting.series import (
    HistoryRules,
    Series,
    daily_grid,
    history_problem,
    series_scale,
)
from python_engines.forecasting.stan import StanFitError, StanOptions, optimize
from python_engines.forecasting.windows import ForecastWindows

MODEL_NAME = "prophet"
EPOCH = np.datetime64("1970-01-01", "D")
TREND_INDICATOR = {"linear": 0, "logistic": 1}
#: Daily utilisation residuals are autocorrelated (AR(1) around 0.6 on real feeds): a least-squares slope's
#: naive standard error understates its spread by about sqrt((1 + rho) / (1 - rho)) = 2.
AUTOCORRELATION_INFLATION = 2.0
#: Days (observations) recent_trend needs on each side of a break: a hinge's flat level and ramp, a step's new level.
SHAPE_MIN_SEGMENT = 14
#: Share of a curve window's days that must be observed before a curve is searched there.
MOSTLY_OBSERVED = 0.6
#: Stock Prophet's yearly Fourier order, fitted where the years agree on one season (ProphetSettings.sharp_seasons).
STOCK_YEARLY_ORDER = 10
#: The yearly orders a season the years agree on climbs, each kept only where it earns its terms
#: (:func:`sharper_season`), up to ProphetSettings.sharpest_yearly_order. Ten terms resolve about 18 days of
#: the year: a busy season whose bell is 8 days wide (one standard deviation) comes out 15% lower at its top
#: than it is; twenty lose under 1%.
SHARP_YEARLY_ORDERS = (STOCK_YEARLY_ORDER, 20)
#: The run log's detail key (``yearly_terms=<order>``) for the yearly Fourier order of a series' production fit:
#: model_leaderboard hands a sharp season ahead (STOCK_YEARLY_ORDER terms or more) to Prophet.
YEARLY_TERMS_KEY = "yearly_terms"
#: What :func:`continued_trend` read a series' level as, when that reading matters past the engine: a level that
#: wanders (:func:`wandering_level`). The production fit's reading goes in the run log's detail
#: (``reading=wandering_level``): ``forecasts`` gives such a series this engine's band whatever its champion.
READING_KEY = "reading"
READING_WANDERING_LEVEL = "wandering_level"
#: The run log's detail key (``calendar_peaks=true``) where the production fit took month-end and quarter-end
#: columns (:func:`with_calendar_peaks`): its forecast lifts those days by the closes it saw.
CALENDAR_KEY = "calendar_peaks"


@dataclass(frozen=True)
class ProphetSettings:
    growth: Literal["linear", "logistic"] = "linear"
    cap: float = 100.0
    floor: float = 0.0
    n_changepoints: int = 12
    # Prophet's default 0.8 leaves the last 7 months without a changepoint, so a ramp that began there is
    # extrapolated at the older, flatter slope: measured two months late on capacity-breach hosts (bench/README.md).
    changepoint_range: float = 0.95
    # Prophet: 0.05. With the exact solver 0.03 gives a lower backtest WAPE than Stan at 0.05 on the tuning
    # fleets (stress seed 1: 8.88% vs 8.92%, DNA seed 7: 9.33% vs 9.43%, 500 series each; 0.05 exact: 8.94%, 9.51%).
    changepoint_prior_scale: float = 0.03
    seasonality_prior_scale: float = 10.0
    yearly_order: int = 5
    weekly_order: int = 3
    interval_width: float = 0.8
    uncertainty_samples: int = 300
    seed: int = 0
    # "exact": linear growth's MAP solved in numpy (:mod:`.prophet_map`, about 3 ms a fit, a lower negative
    # log posterior than Stan on every fit compared); "stan": Prophet's compiled model (logistic growth always).
    solver: Literal["exact", "stan"] = "exact"
    stan: StanOptions = field(default_factory=StanOptions)
    time_limit: float | None = 120.0
    history: HistoryRules = field(default_factory=HistoryRules)
    # How the trend continues past the last observation: "consensus" (from the shape of the last
    # recent_window days: line, step or hinge; see consensus_forecast) or "prophet" (its last segment as it is).
    extrapolation: Literal["consensus", "prophet"] = "consensus"
    recent_window: int = 56
    consensus_z: float = 2.0
    shape_evidence: float = 10.0
    # A step in the last recent_window days needs this many days of the old level before it (and 14 of the new
    # one after): a workload that moved on 6-8 weeks before the end left under 14 days of the old level in the
    # window, which then read as a line, and Prophet's ramp through the step went on (level shifts up forecast
    # into 100%). 3: chosen on stress seeds 1-5 over 7 and 14 (docs/trust_log.md, session 12).
    step_min_before: int = 3
    # ... and a step up this many days of the new level after it: a workload moved on 7-13 days before the end was
    # read as a hinge or line through the step, and Prophet's ramp went on (the default fleet cut 180 days early,
    # bench.trust --default-cut-days: 3 black-swan steps of 27-32 points forecast into 100 within 6-10 days,
    # WAPE 58-64%; the new level 4-8%). A step down still needs 14: a year-end dip the yearly term explains only
    # in part read as a level and was forecast flat at the dip (held-out seed 1030, a holiday dip: WAPE 6.2% ->
    # 23.1%); a fall carried on raises no alarm. 7 (14 before; docs/trust_log.md, session 51).
    step_min_after: int = 7
    # A ramp that began 6-8 weeks before the end leaves under 14 days of the flat level in the recent_window days,
    # too few for a hinge there: the window read as one line through the flat days and the ramp, whose slope
    # came out low (stress seeds 1-5: late ramps starting 39-47 days out, 0.53 a day against the true 0.67,
    # 1.3 standard errors low on average). Where the window is a line, a hinge is also looked for over the last
    # hinge_lookback days, and taken when its ramp began inside the window but before the first break the
    # window can hold (see _earlier_hinge). 84 was chosen over 112 on those seeds (112 also moved a weekly batch
    # host's forecast into 95); taking any break inside the window instead read a step in the last week as a
    # two-week ramp on the default fleet's backtest (5 BLACK_SWAN / DECLINING series, WAPE 0.15-0.44 ->
    # 0.41-1.21). As built: on seeds 1-5 only late ramps change (WAPE 0.54% -> 0.47%), on the default fleet's
    # backtest one series. None (or no more than recent_window): the window alone.
    hinge_lookback: int | None = 84
    material_points: float = 5.0
    material_days: int = 90
    past_window: int = 28
    damping: float = 0.95
    # A series that fell suddenly this often before the last weeks (fills with cleanups, leaks with restarts)
    # ramps again and again: it keeps Prophet's long-run trend whatever its last weeks look like.
    max_resets: int = 4
    # ... unless its whole history is one step the way Prophet's last segment moves (a workload moved onto a
    # host whose disk fills and is cleaned up, or whose memory leaks and restarts; or moved off): that segment
    # read the step as growth (or decline) and carried it on, 15-35 points in 90 days. There the trend is the
    # since_step line through the days since the step (a level without its slope where the step is under
    # since_step_min_days old and so inside the last weeks), where that segment moves material_points over
    # material_days or more. On the default fleet's continued future (DNA seed 44, 1,000 hosts) 9 of 31 false
    # breach alarms were such steps (BLACK_SWAN hosts), each kept on Prophet's trend by the resets rule. Without
    # the material slope, blind seed 2091's autoscaled pools (a first few weeks at another level read as a step)
    # moved their backtests and four champions, their golden WAPE 6.28 -> 6.40%. Needs since_step on. False:
    # Prophet's trend (var prophet_reset_steps).
    reset_steps: bool = True
    # Compounding growth (a constant rate over a floor) is read over the last growth_window days and continued
    # as a curve when it beats a line and a hinge there by growth_evidence (BIC on effective days); doubling
    # times outside doubling_days are not searched. Chosen on stress seed 1 (bench/README.md).
    growth_window: int = 252
    growth_evidence: float = 10.0
    doubling_days: tuple[float, float] = (25.0, 400.0)
    # Once found there, the curve's floor, scale and rate are read over the last growth_fit_window days instead,
    # when that curve still fits the growth_window days (its BIC there within growth_fit_tolerance of the
    # window's own curve, on effective days): over 252 days the floor and the rate trade off against each other,
    # and a rate a few percent fast moves a crossing 90 days out by 10-25 days. None: the window's own curve.
    growth_fit_window: int | None = 730
    growth_fit_tolerance: float = 10.0
    # A young curve (a few points over its floor, doubling every 100-170 days) bends too little over
    # growth_window days to beat a line there, and was forecast as a line, 12 points low on average half a year
    # on (stress seeds 1-5: 72 of 200 compounding series). Where the window finds no curve, a curve doubling
    # every young_doubling_days is also searched over the last growth_search_window days (most of them
    # observed, the same growth_evidence), and taken when it still explains the window at least as well as the
    # window's own best line and hinge (BIC): growth that has since turned into a line or levelled off keeps
    # the window's reading. A faster curve would multiply over 5x within the window; if the window alone cannot
    # tell it from a line or a hinge, what bends over two years is a ramp beginning (a knee), not compounding:
    # searching from 25 days read three planted ramps of the default fleet's backtest, which began 4-5 months
    # before the cut, as curves (WAPE 0.03-0.07 -> 0.14-0.35) and ran four production forecasts at 83-94 to
    # 100. Chosen on stress seeds 1-5 and the default fleet: from 100 days, one backtest of the default fleet
    # changes (a planted ramp, WAPE 0.045 -> 0.024), and only compounding series of the stress seeds do (20;
    # compounding WAPE 6.18% -> 5.04%; from 25 days 25 series, 3.92%; from 70, 21, with four default-fleet
    # segments changed; from 140, 15).
    # 730 days (growth_fit_window's two years) was chosen over 504 (the same 20 series, 5.06%). Allowing the
    # window growth_fit_tolerance
    # of slack took growth that had stopped 60 days before the end and continued it as a curve (a synthetic
    # check; the stress families have no such shape). None (or no more than growth_window): the window alone.
    growth_search_window: int | None = 730
    young_doubling_days: tuple[float, float] = (100.0, 400.0)
    # Growth that compounds slowly (traffic growing 15-60% a year doubles every 1.5-5 years) is a line over
    # growth_window days and bends only over years; Prophet's last segment carries the last months' slope on and
    # falls 1-3 points behind half a year out. Where neither the window nor the young search finds a curve, one
    # doubling every slow_doubling_days is searched over the same growth_search_window days with the same
    # growth_evidence, and taken when, over the window, it misses by no more than growth_fit_tolerance more
    # than the window's own best line and hinge (BIC, effective days): over 36 weeks a slow curve is a line, so
    # the young search's test (that it fit the window better than they do) would refuse every one. 400 days is
    # where the young search stops; slower than 4000 days a curve parts from its tangent by under 2% of its own
    # climb over 180 days. A slope that stepped up a year ago bends like a slow curve over two years too, so the
    # curve must also be at least as likely there as a line whose slope changed once (BIC; slow_curve: a helper
    # review's kinked lines, read as curves, ran 1.2-1.35 points high over days 91-180). No number chosen on
    # data: the evidence and the tolerance are the growth curves' own. Meant with cycle_in_trend: with the
    # additive cycle's misfit left in, a one-off bump in the last year read as a slow curve (the same review).
    # False: off.
    slow_compounding: bool = True
    slow_doubling_days: tuple[float, float] = (400.0, 4000.0)
    # Growth that slows toward a ceiling (an S-curve past its midpoint) is read over the same window and
    # continued as its curve, levelling off, when it beats a line and a hinge by saturation_evidence; S-curve
    # scales outside saturation_scale_days are not searched; None turns it off. Chosen on stress seeds 1-3.
    saturation_evidence: float | None = 20.0
    saturation_scale_days: tuple[float, float] = (7.0, 150.0)
    # When the window slows like an S-curve but its last weeks still climb faster than the curve says, and
    # they climb at most slowing_ratio times as fast as the steepest recent_window-day stretch of the window
    # before them (the slowing is in the data), the last weeks' slope goes on damped by `damping` a day (about
    # 19 days' worth in all) instead of as a line, which ran hosts levelling off at 84-88 into 95. Stress seeds
    # 1-5: 18 such series, all saturating or a step up, none breaching, at 0.07-0.40; the default fleet's
    # planted ramps, whose smooth knee an S-curve also fits, climb as steeply as ever (1.01-1.38; both ranges
    # read offline on raw values, not deseasonalised). None: off.
    slowing_ratio: float | None = 0.5
    # With less than two years of history the yearly Fourier terms are not identified and soak up trend and
    # level (a host that joined 8 months ago and rose 13 points: the fit without them sits 15-20 points low).
    # When they are dropped for that reason, Prophet's trend continues from the level of the last
    # recent_window days instead (stress seeds 1-3: late joiners' WAPE 7.4% -> 4.8%). With two years or more
    # the fit without the yearly term is kept as it is (anchoring every such series cost 1.5% WAPE on DNA seed
    # 7's backtest) unless it misses the last recent_window days by anchor_min_gap points or more on average:
    # then its yearly term had soaked up a one-off step or S-curve, the trend had made up for it, and without
    # the term the forecast began up to 10 points off the data on day 1 (a saturating host at 82 forecast at
    # 92 and rising: a false breach). 5 points is material_points, not tuned: it changes no series of stress
    # seed 1 and 2 of DNA seed 7 (backtest WAPE 9.295% -> 9.312%). None turns this off.
    anchor_without_yearly: bool = True
    anchor_min_gap: float | None = 5.0
    # Yearly seasonality is continued only where it repeats: consecutive years of history, each fitted on its
    # own, must agree on the seasonal shape (cosine similarity of their yearly Fourier coefficients of order
    # yearly_check_order at least yearly_min_agreement; see yearly_agreement). A one-off ramp or step a year
    # before the end otherwise comes back as "seasonality" (stress seed 1: saturating WAPE 8.5% -> 5.7%, false
    # alarms 5 -> 2, calm series unchanged). None keeps the yearly term always.
    yearly_min_agreement: float | None = 0.3
    yearly_check_order: int = 3
    # ... and repeat at a comparable size: a pair of years whose swings differ more than 1 / yearly_min_size_ratio
    # fold counts as unrelated (0) unless their shapes agree strongly (yearly_strong_agreement). A one-off climb
    # or step in the last year gives it a swing 10-50 times the year before's, whose noise can match its shape
    # by chance (stress seed 64: 0.34 on a saturating host, flat at 85 for eight months and forecast to climb 12
    # points in 30 days with HIGH trust). Chosen on stress seeds 1-5 (one-off families: a swing ratio of 0.02-0.2;
    # calm series 0.72 at the median) and DNA seed 7, whose seasonal hosts with a growing swing (0.11-0.20) agree
    # on shape at 0.74-0.85. None turns the size check off.
    yearly_min_size_ratio: float | None = 0.2
    yearly_strong_agreement: float = 0.7
    # A season that every pair of consecutive years agrees on strongly (yearly_agreement at least
    # yearly_strong_agreement) is fitted again with stock Prophet's STOCK_YEARLY_ORDER Fourier terms, kept where
    # they lower the BIC by shape_evidence (sharper_season): five terms round a busy season of a few weeks off
    # into a lower, wider swell, and its top is where it breaches. A series whose years do not agree keeps
    # yearly_order, whose fewer terms soak up less of a one-off ramp (10 for every series read a planted ramp's
    # start as a season); so does a mild swell (10 for every agreeing season made calm series noisier on seen
    # seeds 203 and 1028). False: yearly_order always.
    sharp_seasons: bool = True
    # The highest of SHARP_YEARLY_ORDERS such a season may climb to, each order kept only where it lowers the
    # BIC of the order below by shape_evidence: 20 terms draw the top of a busy season a week or two wide,
    # which 10 round off by several points. STOCK_YEARLY_ORDER (10) stops at stock Prophet's order.
    sharpest_yearly_order: int = 20
    # A season that grows (or shrinks) from year to year, the base level aside (a busy season that draws more
    # load each year as the business grows): the yearly term Prophet fits is the years' average season, so its
    # next top is forecast at the average of the past ones, below the latest. Where the years agree strongly on
    # the season's shape (as for sharp_seasons) and a season whose size changes linearly with time explains the
    # history at least as well as one fixed size (BIC on effective days, one parameter more, by
    # growing_season_evidence: growing_season), the yearly term is forecast at the size that line reaches on each
    # future day. The agreement is the sharp seasons' own. False: the fitted season's size.
    growing_seasons: bool = True
    # The base a season's size is regressed over (sizes_on_base): each 365-day block's own level and slope, and
    # Prophet's trend only where it lowers the BIC by shape_evidence. Prophet fits its trend beside a season of one
    # size, so where the season grows its changepoints rise into each year's top and that trend took up part of
    # the growth: on read blind seeds 2042-2053 (offline, the 768 annual-peak series, the point forecast's top
    # over days 1-90 against the oracle's median) the top was forecast 0.97 points under on average with that
    # trend always in the base, 0.73 with it there only where it earns its place; 28 of the 46 that crossed 95
    # forecast at 95 or more instead of 22, one that did not either way. The blocks alone cannot take up a step
    # or a ramp inside a year (a steady season read as shrinking 21% a year): there the trend earns its place
    # and stays. False: Prophet's trend always in the base.
    season_size_own_base: bool = True
    # The own base is for a season that stands clear of its noise: the yearly term's range at least this many
    # times the residual standard deviation of the regression with Prophet's trend in its base. Each year's level
    # and slope cannot follow a trend that bends inside a year, and against a small season that leftover reads
    # as growth: on the default fleet (ranges of about 7 points over noise of 2-3, the ratio's median 2.9) the
    # own base moved 359 Prophet backtests, 201 of them worse (mean WAPE 11.94% -> 12.27%), and on read blind
    # seeds 2042-2047 (offline, 180 days against the truth) it moved 77 calm and 8 stuck-sensor series, 56 of
    # them worse. There the calm series' ratio reached 6.8 at most and the annual peaks' was 9.4 or more (median
    # 22): at 8 every annual peak the own base moved keeps its reading (WAPE 2.49% -> 2.44%) and no other
    # family's series moves; 14 default-fleet backtests move, 8 worse. 0: the own base wherever the trend does
    # not earn its place.
    season_own_base_min_ratio: float = 8.0
    # The bar a growing season must clear, in BIC: 0 is "at least as likely as one size". Three seasons give the
    # size line few looks: busy seasons growing 0-10% a year cleared shape_evidence (10, the bar until session
    # 42) in under a quarter of cases, and at one size their next top was forecast 3.2-3.4 points under the
    # truth's on average (the two halves of the seeds below). Offline on read blind seeds 2016-2035 (1,280
    # annual-peak series, clean values; the point forecast's top over days 1-90 against 95): bar 10 found 36 of
    # the 74 that crossed, bar 0 41, no bar 45, each with 3 false; mean absolute error over days 1-180 1.60 /
    # 1.52 / 1.49. 0 keeps a size line that noise alone draws (BIC under 0) from reading a steady season as
    # growing. None: shape_evidence.
    growing_season_evidence: float | None = 0.0
    # Where Prophet's own linear trend is kept (no curve, staircase, plan, long line or step applies) and rises
    # materially, and the series went both ways at least as fast for material_days days somewhere before its last
    # weeks (sudden drops left out: wanders), its last segment's slope is a wandering level's latest leg: it goes
    # on damped by damping a day, not undamped for the whole horizon. A level that wanders up and down had its
    # latest rise carried 90 days into a false breach alarm. The numbers are the plan's own (material_points,
    # material_days, damping). False: off.
    wander_damping: bool = True
    # A level that wanders (wandering_level) is forecast as one, read after the staircase and before the growth curves
    # and the last weeks' plan (its latest leg reads as a ramp, a curve or growth levelling off), unless the last
    # weeks are a step. Before those weeks its weekly means (seasonality removed) spread over 13 weeks at least
    # wander_min_variance_ratio as much as 13 independent weeks would (a random walk's 1; noise around a level about
    # 0.1; on read seeds, calm hosts, staircases and traffic growth 0.1-0.45 from their 10th to 90th percentile); at
    # least wander_min_step_free_ratio once up to two level shifts (each where it earns its BIC) are taken out (a
    # workload moved on, or on and off again, is not a wander: what is left is noise, about 0.1); and a line through 8
    # weeks carried 13 weeks on missed the weeks after by at least wander_min_line_loss times as much as the last 4
    # weeks' level did (its trends were taken back; where they hold, on traffic growth, linear breaches, reversing and
    # saturating growth, 0.2-1.0 from the 10th to 90th percentile). The forecast starts from the last week's level
    # (wander_level_weeks) and drifts back to the weekly means' own level at their AR(1) pace only where that
    # coefficient is told from 1 (Dickey-Fuller t under wander_unit_root_t, the 5% critical value with a constant;
    # None: always); the band widens by the quantiles of that forecast's own misses, week by week ahead, over the
    # history. Prophet's last segment had carried a wander's latest leg on for 180 days with a band a few points
    # wide. The ratios were chosen on read blind seeds 2010-2015 (offline, on raw weekly means: 144 of 168 wandering
    # series pass, 31 of 192 autoscaled pools and no series of another family, none of seen seeds 203 and 1028's).
    # False: off.
    wandering_levels: bool = True
    wander_min_variance_ratio: float = 0.6
    wander_min_line_loss: float = 1.2
    wander_min_step_free_ratio: float = 0.4
    wander_unit_root_t: float | None = -2.88
    # Each week ahead's past-miss quantile is at least the AR(1)'s own normal spread that far ahead (its shock's
    # standard deviation, compounded at the persistence used). On read blind seeds 2020-2030 (offline, clean
    # values, 505 wandering series) the misses alone covered 0.766 of the future at Winkler 22.2, with the
    # floor 0.802 at 21.3; the model's spread alone 0.763 at 20.9. False: the past misses alone.
    wander_model_floor: bool = True
    # The weeks the wandering level's forecast starts from (the mean of the last this many weekly means; its past
    # misses are read from the same level at every origin, so the band matches it). A level that wanders is best
    # known from its latest week: four weeks' mean lagged it by half a month. On read blind seeds 2042-2047
    # (offline, processed values, the 267 wandering series read as wandering; no series of the other blind
    # families is) from 4 weeks to 1: WAPE over days 1-30 4.01% -> 3.44%, Winkler 12.2 -> 10.5 (a proxy band:
    # the wander's widening in quadrature with 1.28 times the last 90 days' residual spread), over days 1-180
    # WAPE 6.68% -> 6.52%; 2 weeks fell between.
    wander_level_weeks: int = 1
    # Where the years agree on a sharp season (the fit climbed past yearly_order: sharper_season), the yardstick a
    # calibrated band is drawn in (series.series_scale, the mean week-on-week change) is taken of the history less
    # the fit's yearly term: the season the forecast carries is not noise around it, and its weeks of ramp up and
    # down inflated the yardstick by half or more. Read on the twelve seen blind builds 2042-2053 (offline, the
    # production fit's yearly term): 558 such annual-peak series, their yardstick 0.64x as large without the term,
    # coverage 0.91; the 47 other such series (autoscaled pools) 0.94x. The calibration pools every series' misses,
    # so every band moves a little with it (rebuilt seen seeds 2045, 2051, 2052: annual peaks 0.79-0.81, every
    # series' Winkler 0.2-0.4% lower). False: the whole history's week-on-week change, as for every other series.
    season_free_yardstick: bool = True
    # A season the years agree on strongly (as for growing_seasons) comes back at a size that three or so looks
    # through the day noise only estimate: the band widens, in quadrature, by the band's normal quantile of that
    # estimate's standard error on each future day (the growing-season regression's size line, on effective days)
    # times the yearly term there, so at the season's top and hardly elsewhere. Year-to-year scatter of the size
    # beyond what the noise explains is not counted (three sizes give it one or two degrees of freedom). Read on
    # rebuilt seen blind seeds 2045, 2051 and 2052 with season_free_yardstick (offline, the 169 sharp-season
    # Prophet champions): 1.0 points on the season's top decile of days, 0.19 elsewhere. Rebuilt with it, annual
    # peaks' bands covered 0.67-0.73 of those top days (0.63-0.68 without; 0.77-0.81 before either change). False:
    # no widening.
    season_size_uncertainty: bool = True
    # A rise of the last weeks steeper than anything before is carried on undamped (extrapolation_plan) unless the
    # yearly term moves by more than that rise over the same days (_season_outmoves): there the rise cannot be told
    # from the term's own misfit (a season ending abruptly at the year's end read as a ramp to 130-160%), and
    # Prophet's own trend goes on. False: the rise is carried on whatever the season does.
    season_ramp_check: bool = True
    # A rising ramp of the last weeks (a hinge) that began fewer than past_window days before the end is compared
    # with every stretch of its past as long as it is, rising or falling, not with every 7th past_window-day
    # stretch: those average a short burst away. It is carried on only where it is steeper than the steepest of
    # them by consensus_z standard errors of the difference (sqrt(2) times its own slope's, inflated for
    # autocorrelation). Otherwise it is a move the series has made before, and Prophet's trend goes on. The band's
    # widening for a slope read from the last weeks alone is judged on the same stretches, without the margin.
    # Falls are left as they were. Chosen on seen builds (docs/trust_log.md, session 46): it ends four false
    # alarms there (wandering levels' and a staircase's legs of 13-22 days, a ramp plateau) and one true late-ramp
    # alert. A ramp whose break is read at 28 days or more is judged as before. False: every such ramp is judged
    # against past_window-day stretches, steeper at all.
    young_ramp_check: bool = True
    # Where nothing else applies (no curve, no recent step, hinge or slowdown) and the whole history is one
    # line (recent_trend over every observed day finds no step or hinge by shape_evidence, and no bend: a
    # quadratic does not beat the line by it either), the trend is that line's: Prophet's last segment reads
    # its slope from the last weeks, which persistent noise bends by 5-10% (on a ramp 90 days from 95, 5-9
    # days on the day it gets there). Chosen on stress seeds 1-5 and DNA seed 7 (see docs/trust_log.md); the bend
    # test keeps declines that slow toward a floor off the line (DNA DECLINING hosts: backtest WAPE 14.3% -> 17.0%
    # without it). False: Prophet's own trend.
    long_line: bool = True
    # ... and where the whole history is one step instead (two levels, a workload moved on or off before the
    # last weeks), the trend is the line through the days since the step, flat unless its slope is significant
    # (by consensus_z inflated standard errors) and unless those days bend. Prophet's last segment had read part
    # of the step as a slope: a disk that stepped down from 56 to 41 five months before the end, flat since,
    # was forecast at 29 six months out (stress seed 1; on seeds 1-5, with the level-shift calibration, level
    # shifts down went from WAPE 5.0-6.0% and coverage 0.73-0.81 to 3.4-4.1% and 0.84-0.86). Needs
    # since_step_min_days days since the step (a recent step is the recent window's). False: off.
    since_step: bool = True
    since_step_min_days: int = 56
    # Where that level is flat but does not explain the last 28 days (their mean outside the level's own one-day
    # band, as for a young series' level: int_young_series_forecasts), the forecast starts from the last 28 days'
    # mean and drifts back to the level at the pace of the weekly means' AR(1) since the step. A level that
    # wanders after a step had been forecast at its months-long mean: a disk at 95-100 for three weeks at 88
    # (fresh blind 2075, oracle chance 1.0, missed). Offline on read blind seeds 2042-2047 (every series with 400
    # observed days, 9,312) it applies to 7 (3 wandering, 2 calm, 2 autoscaled): WAPE over days 1-30 8.9% ->
    # 4.3%, days 1-180 8.1% -> 7.4% (the last weeks' level held flat instead: 4.8% and 10.5%; Prophet's trend:
    # 13.1% over 180 days). False: the flat level (var prophet_since_step_recent_pull).
    since_step_recent_pull: bool = True
    # When the yearly term is dropped and the joint fit without it misses the last recent_window days by
    # yearly_refit_min_gap points or more on average, the model is fitted again without the term (the trend had
    # leaned on it); below that the joint fit's trend is kept. 0: always refit; None: never.
    yearly_refit_min_gap: float | None = 2.0
    # A slope steeper than any stretch before the last weeks (a ramp that began 2-8 weeks before the end) is read
    # from those weeks alone: the last recent_window days (a line) or the days since its break (a hinge, whose
    # error counts the break day's uncertainty too). Its standard error, inflated for autocorrelation, times the
    # days ahead at the band's normal quantile is added to the band in quadrature. Without it the band of such a
    # ramp stayed about 4 points wide for 180 days (stress seeds 1-5: it covered 0.79 of the ramps' first 15 days
    # below 100 and 0.50 after 60). Its calibration cannot see this: it learns from series whose slope is known
    # from years. False: the calibrated band alone.
    recent_slope_uncertainty: bool = True
    # ... and that standard error is inflated for the autocorrelation of the last weeks' own residuals around
    # their line or hinge (sqrt((1 + r) / (1 - r)), r their lag-1 autocorrelation), where that is more than the
    # fixed AUTOCORRELATION_INFLATION: persistent noise makes a slope read from a few weeks less certain than
    # a fixed factor says. False: the fixed factor.
    residual_autocorrelation: bool = True
    # Growth in steps (a tenant, a batch of users or a data feed onboarded every few months): where the last
    # staircase_window days (seasonality removed) are a staircase, at least staircase_min_steps level shifts,
    # every one up, past_window days or more apart (a shorter level between two shifts joins its neighbour
    # nearer its mean first: _merged_short_levels; a fall that does not clear shape_evidence as two levels
    # against one joins its two levels: _merged_weak_falls), the last no more than twice the longest gap ago, whose
    # levels explain those days better than ramps through the same days (and, without staircase_many_steps, the
    # best line and the best hinge) by shape_evidence (BIC on effective days, two parameters a step;
    # staircase_growth), the forecast continues
    # from the last level by the steps to come (staircase_renewal below; without it at the average climb, the
    # rise over the window per day). Without the staircase reading the last step read as a one-off move (flat
    # from the new level) or the flat days since it as growth that stopped. The band widens, in quadrature, by
    # how far the steps to come take it, simulated from the series' own gaps and rises (Staircase.outlook): the
    # calibration, learnt on other series, cannot know this one steps, nor when its next step is due. The
    # numbers are not tuned: two years (growth_fit_window's), three steps (two could be a move and its
    # follow-up), four weeks between steps (past_window's: a shorter level is a step split in two by noise, or
    # a ramp's slice, and is merged; merged slices lose to the ramps), a whole missed
    # gap to call the steps stopped, the shape test's own evidence. False: off.
    staircase: bool = True
    staircase_window: int = 730
    staircase_min_steps: int = 3
    # ... where its levels beat ramps through the same breaks by shape_evidence, whether or not they also beat the
    # best line and the best hinge: a staircase of many small steps (a dozen of 3-5 points every 6-10 weeks) costs
    # two parameters a step, so a line describes it about as well, and before session 48 it was then no staircase
    # and its last step read as a one-off move, forecast flat. Its steps to come carry on as the line would. On
    # read blind seeds 2057-2062 and 2066-2068 (offline, the 576 staircase-family series): 24 more read, staircase
    # WAPE 2.99% -> 2.96%, one breach the oracle gave 1.0 (a 13-step staircase at 91) forecast at 99 instead of 92;
    # no series of 2057-2059's wandering, autoscaled, traffic-growth or stuck-sensor families read so; elsewhere a
    # few: one calm series of seen 206, two of 1031, 19 series of the default fleet (none near 95). False: levels
    # must beat the best line and hinge too.
    staircase_many_steps: bool = True
    # ... and where the next step is due counts (a renewal reading): the forecast is the mean of futures
    # simulated from the series' own gaps and rises (Staircase.simulated_rises; the gaps smoothed by
    # Silverman's bandwidth, gap_bandwidth: a few gaps seen say less about the next than their few values),
    # set against the days since its last step, so it stays near the last level while the next step is not due
    # and rises by a step's worth as the step comes due (over the next gap where it is already overdue); the
    # band is those futures' spread around that mean. The average climb's line rises from the first day alike
    # whether the last step came a week or a whole gap ago. Chosen offline on the staircases of read blind seeds
    # 2042-2059 (955 series, 180-day WAPE: 3.28% on the line, 2.98% on the mean, 2.94% on the smoothed mean,
    # 3.05% on the median; the oracle's 2.45%); nothing in it is tuned (a smoothed gap is kept to at least half
    # the shortest seen, only so that it stays positive). False: the average climb's line and
    # Staircase.widening's band.
    staircase_renewal: bool = True
    # A weekly cycle that grows with the level (traffic: the weekday-weekend ratio holds while it grows) is
    # forecast scaled to the forecast's level where that explains the history better than Prophet's additive
    # cycle by shape_evidence (level_cycle): fitted over the years, the additive swing is the average one, and
    # traffic growing by a third a year had its weekday peaks forecast low and its weekends high. False: additive.
    level_cycle: bool = True
    # ... and the trend is read with that cycle taken out at each day's level instead of the additive one
    # (continued_trend): the additive cycle is the years' average swing, too shallow for the last weeks of traffic
    # that grows, and its weekly misfit left drops that counted as resets (a series that resets keeps Prophet's
    # long-run trend, unanchored): 72 of the 168 traffic hosts of read blind seeds 2016-2018, none once the scaled
    # cycle is taken out. Found on those seeds; nothing numeric to choose. False: the additive cycle is taken out.
    cycle_in_trend: bool = True
    # Month-end and quarter-end closes as Prophet holidays that recur on the calendar (calendar_features): the
    # last three business days and last two calendar days of every month, and the last three business days and
    # last five calendar days of a quarter's last month, each a column of the seasonal design with the seasonal
    # prior. Without them a one- or two-day close peak is no Fourier term's shape: it was smoothed into the
    # yearly term and the forecast never reached the quarter-end peaks a planner needs to see (the default DNA
    # fleet's seed 42, cut 180 days early: 6 of its 9 true breaches within 90 days were SEASONAL quarter-end
    # peaks, all missed). Such a fit's band is drawn in the scale left once its closes are taken out (yardstick):
    # the forecast places them, so the jumps into and out of them are no error. False: yearly and weekly terms
    # only, as before session 52.
    calendar_peaks: bool = True


@dataclass(frozen=True)
class ProphetFit:
    """A fitted model: MAP parameters plus the scaling that maps days to model time and back."""

    settings: ProphetSettings
    start: np.datetime64
    t_scale: float  # days between first and last training observation
    y_scale: float
    changepoints_t: np.ndarray
    k: float
    m: float
    delta: np.ndarray
    beta: np.ndarray
    sigma_obs: float
    residuals: np.ndarray
    optimizer: str = "converged"

    def time_of(self, days: np.ndarray) -> np.ndarray:
        return (days - self.start).astype(np.float64) / self.t_scale

    def trend(self, days: np.ndarray) -> np.ndarray:
        """Trend in scaled units (Prophet's ``piecewise_linear`` / ``piecewise_logistic``)."""
        return _trend(self.settings, self.time_of(days), self.k, self.m, self.delta, self.changepoints_t, self.y_scale)

    def predict(self, days: np.ndarray) -> np.ndarray:
        s = self.settings
        return (self.trend(days) + seasonal_design(days, s) @ self.beta) * self.y_scale + s.floor


def _fourier_columns(t: np.ndarray, yearly_order: int, weekly_order: int) -> np.ndarray:
    """Prophet's Fourier columns at epoch days ``t`` (floats), computed (see :func:`seasonal_features`)."""
    blocks = []
    for period, order in ((365.25, yearly_order), (7.0, weekly_order)):
        if order <= 0:
            continue
        angle = 2.0 * np.pi * t[:, None] * np.arange(1, order + 1)[None, :] / period
        block = np.empty((t.size, 2 * order))
        block[:, 0::2] = np.sin(angle)
        block[:, 1::2] = np.cos(angle)
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((t.size, 1))


#: Epoch days (1990-01-01 up to, not including, 2060-01-02) whose Fourier rows are computed once per process
#: and looked up.
FOURIER_TABLE_DAYS = (7305, 32873)
_fourier_tables: dict[tuple[int, int], np.ndarray] = {}


def _fourier_table(yearly_order: int, weekly_order: int) -> np.ndarray:
    """Every day of :data:`FOURIER_TABLE_DAYS` through :func:`_fourier_columns`, built on first use."""
    key = (yearly_order, weekly_order)
    if key not in _fourier_tables:
        table = _fourier_columns(np.arange(*FOURIER_TABLE_DAYS).astype(np.float64), yearly_order, weekly_order)
        table.flags.writeable = False  # shared by every fit of the process: rows are handed out as copies
        _fourier_tables[key] = table
    return _fourier_tables[key]


def seasonal_features(days: np.ndarray, yearly_order: int, weekly_order: int) -> np.ndarray:
    """Prophet's Fourier columns: yearly (365.25 d) then weekly (7 d), sin/cos interleaved, time in epoch days.

    A fit and its readings ask for the same days' columns about twenty times per series, so rows are looked up in a
    per-process table of whole days (the same values, element for element, as computing them, and a copy);
    days outside the table's span, or not a 1-D array of whole days, are computed.
    """
    if days.dtype == np.dtype("datetime64[D]") and days.ndim == 1 and days.size:
        index = (days - EPOCH).astype(np.int64) - FOURIER_TABLE_DAYS[0]
        if index.min() >= 0 and index.max() < FOURIER_TABLE_DAYS[1] - FOURIER_TABLE_DAYS[0]:
            return _fourier_table(yearly_order, weekly_order)[index]
    return _fourier_columns((days - EPOCH).astype(np.float64), yearly_order, weekly_order)


#: The calendar columns (:func:`calendar_features`): business days before a month's end (1 = its last business
#: day), calendar days before it (1 = its last day), and in a quarter's last month the same up to these counts.
MONTH_END_BUSINESS_DAYS = 3
MONTH_END_CALENDAR_DAYS = 2
QUARTER_END_BUSINESS_DAYS = 3
QUARTER_END_CALENDAR_DAYS = 5
CALENDAR_COLUMNS = MONTH_END_BUSINESS_DAYS + MONTH_END_CALENDAR_DAYS + 2
_calendar_table: list[np.ndarray] = []


def _calendar_columns(days: np.ndarray) -> np.ndarray:
    """(days, CALENDAR_COLUMNS) 0/1 indicators of month-end and quarter-end closes on ``days`` (datetime64[D]):
    one column per business day before the month's end (Monday-Friday; holidays ignored), one per calendar day
    before it, then one for a quarter's last business days and one for its last calendar days. Business and
    calendar counts both, since closes run on either: a batch on the last business day moves to a Friday when
    the month ends at a weekend; a job on the month's last days does not."""
    month_start = days.astype("datetime64[M]")
    month_end = (month_start + 1).astype("datetime64[D]") - 1
    calendar_left = (month_end - days).astype(np.int64) + 1  # 1 on the month's last day
    business = np.is_busday(days)
    business_left = np.where(business, np.busday_count(days, month_end + 1), 0)  # 1 on its last business day
    quarter_month = (month_start.astype(np.int64) % 12 + 1) % 3 == 0
    columns = [business_left == k for k in range(1, MONTH_END_BUSINESS_DAYS + 1)]
    columns += [calendar_left == k for k in range(1, MONTH_END_CALENDAR_DAYS + 1)]
    columns.append(quarter_month & business & (business_left <= QUARTER_END_BUSINESS_DAYS))
    columns.append(quarter_month & (calendar_left <= QUARTER_END_CALENDAR_DAYS))
    return np.column_stack(columns).astype(np.float64)


def calendar_features(days: np.ndarray) -> np.ndarray:
    """:func:`_calendar_columns` on ``days``, looked up like :func:`seasonal_features` in a table of
    FOURIER_TABLE_DAYS built once per process (computed outside its span)."""
    days = np.asarray(days).astype("datetime64[D]")
    index = (days - EPOCH).astype(np.int64) - FOURIER_TABLE_DAYS[0]
    span = FOURIER_TABLE_DAYS[1] - FOURIER_TABLE_DAYS[0]
    if days.ndim == 1 and days.size and index.min() >= 0 and index.max() < span:
        if not _calendar_table:
            table = _calendar_columns(np.arange(*FOURIER_TABLE_DAYS).astype("datetime64[D]"))
            table.flags.writeable = False
            _calendar_table.append(table)
        return _calendar_table[0][index]
    return _calendar_columns(days)


def seasonal_design(days: np.ndarray, settings: ProphetSettings) -> np.ndarray:
    """The columns a fit's ``beta`` multiplies: :func:`seasonal_features` (yearly, then weekly), then
    :func:`calendar_features` where ``settings.calendar_peaks``."""
    fourier = seasonal_features(days, settings.yearly_order, settings.weekly_order)
    if not settings.calendar_peaks:
        return fourier
    if settings.yearly_order <= 0 and settings.weekly_order <= 0:
        fourier = np.zeros((fourier.shape[0], 0))  # seasonal_features' placeholder column is not a term
    return np.hstack([fourier, calendar_features(days)])


def calendar_term(fit: ProphetFit, days: np.ndarray) -> np.ndarray:
    """``fit``'s month-end and quarter-end term on ``days``, in points (0 without one)."""
    if not fit.settings.calendar_peaks:
        return np.zeros(days.size)
    return calendar_features(days) @ fit.beta[-CALENDAR_COLUMNS:] * fit.y_scale


@dataclass(frozen=True)
class LevelCycle:
    """A weekly cycle that grows and shrinks with the series' level (a multiplicative cycle, :func:`level_cycle`):
    its Fourier coefficients (points) at the history's mean level."""

    beta: np.ndarray
    mean_level: float

    def at(self, days: np.ndarray, level: np.ndarray) -> np.ndarray:
        """The cycle on ``days`` for a series at ``level`` (trend and yearly term) on each of them."""
        order = self.beta.size // 2
        return seasonal_features(days, 0, order) @ self.beta * (level / self.mean_level)


def level_cycle(fit: ProphetFit, days: np.ndarray, y: np.ndarray, evidence: float) -> LevelCycle | None:
    """The weekly cycle read as one that scales with the level, where that explains the history better than
    Prophet's additive cycle by ``evidence`` (BIC on effective days; both have the same parameters): traffic
    that grows keeps its weekday-weekend ratio, so its swing grows with it, and an additive cycle fitted over
    the years is the average swing, too small for the days ahead (peaks forecast low) and too large for the
    early years. None where the cycle is additive, or the level is not positive throughout."""
    order = fit.settings.weekly_order
    if order <= 0:
        return None
    closes = calendar_term(fit, days)  # a close lifts its day, not the level its weekly swing scales with
    level = fit.predict(days) - weekly_term(fit, days) - closes
    if float(level.min()) <= 0.0:
        return None
    cycle = y - level - closes
    weekly = seasonal_features(days, 0, order)
    additive_sse, _ = _least_squares(weekly, cycle)
    scaled_sse, beta = _least_squares(weekly * (level / level.mean())[:, None], cycle)
    if _effective_days(days.size) * np.log(max(additive_sse, 1e-12) / max(scaled_sse, 1e-12)) <= evidence:
        return None
    return LevelCycle(beta=beta, mean_level=float(level.mean()))


def _trend(
    s: ProphetSettings,
    t: np.ndarray,
    k: float,
    m: float,
    delta: np.ndarray,
    changepoints_t: np.ndarray,
    y_scale: float,
) -> np.ndarray:
    after = changepoints_t[None, :] <= t[:, None]
    if s.growth == "linear":
        return (k + after @ delta) * t + (m + after @ (-changepoints_t * delta))
    cap = (s.cap - s.floor) / y_scale
    k_cum = np.concatenate([[k], k + np.cumsum(delta)])
    gammas = np.zeros(changepoints_t.size)
    for i, t_s in enumerate(changepoints_t):  # offsets keep the curve continuous (25 steps, not per row)
        gammas[i] = (t_s - m - gammas[:i].sum()) * (1.0 - k_cum[i] / k_cum[i + 1])
    with np.errstate(over="ignore"):  # exp overflow is the curve's floor (0), which is what we want
        return cap / (1.0 + np.exp(-(k + after @ delta) * (t - (m + after @ gammas))))


def _changepoint_grid(t: np.ndarray, settings: ProphetSettings) -> np.ndarray:
    """Potential changepoints evenly through the first ``changepoint_range`` of the history rows."""
    hist_size = int(np.floor(t.size * settings.changepoint_range))
    n = min(settings.n_changepoints, hist_size - 1)
    if n <= 0:
        return np.array([0.0])  # Prophet's dummy changepoint
    return t[np.linspace(0, hist_size - 1, n + 1).round().astype(int)[1:]]


def _initial_params(t: np.ndarray, y: np.ndarray, cap: float, growth: str, n_cp: int, n_beta: int) -> dict:
    """Prophet's ``linear_growth_init`` / ``logistic_growth_init``: a line through the first and last points."""
    span = t[-1] - t[0]
    if growth == "linear":
        k = (y[-1] - y[0]) / span
        m = y[0] - k * t[0]
    else:
        y0 = max(0.01 * cap, min(0.99 * cap, y[0]))
        y1 = max(0.01 * cap, min(0.99 * cap, y[-1]))
        r0, r1 = cap / y0, cap / y1
        if abs(r0 - r1) <= 0.01:
            r0 *= 1.05
        l0, l1 = np.log(r0 - 1), np.log(r1 - 1)
        m = l0 * span / (l0 - l1)
        k = (l0 - l1) / span
    return {"k": float(k), "m": float(m), "delta": np.zeros(n_cp), "beta": np.zeros(n_beta), "sigma_obs": 1.0}


def _rescaled(previous: ProphetFit, t_scale: float, y_scale: float, n_cp: int) -> dict:
    """Warm start: the previous fit's parameters expressed in the new fit's time and value scales."""
    value = previous.y_scale / y_scale
    slope = value * t_scale / previous.t_scale
    delta = previous.delta * slope if previous.delta.size == n_cp else np.zeros(n_cp)
    return {
        "k": previous.k * slope,
        "m": previous.m * value,
        "delta": delta,
        "beta": previous.beta * value,
        "sigma_obs": max(previous.sigma_obs * value, 1e-3),
    }


def fit_prophet(
    days: np.ndarray, y: np.ndarray, settings: ProphetSettings, warm: ProphetFit | None = None
) -> ProphetFit:
    """MAP fit on observed days ``days`` (datetime64[D], sorted) with values ``y`` (finite)."""
    s = settings
    start = days[0]
    t_scale = float((days[-1] - start).astype(np.float64))
    t = (days - start).astype(np.float64) / t_scale
    y_scale = float(np.abs(y - s.floor).max()) or 1.0
    y_scaled = (y - s.floor) / y_scale
    changepoints_t = _changepoint_grid(t, s)
    features = seasonal_design(days, s)
    n_beta = features.shape[1]
    cap_scaled = (s.cap - s.floor) / y_scale
    data = {
        "T": int(t.size),
        "S": int(changepoints_t.size),
        "K": int(n_beta),
        "tau": s.changepoint_prior_scale,
        "trend_indicator": TREND_INDICATOR[s.growth],
        "y": y_scaled,
        "t": t,
        "cap": np.full(t.size, cap_scaled if s.growth == "logistic" else 0.0),
        "t_change": changepoints_t,
        "X": features,
        "sigmas": np.full(n_beta, s.seasonality_prior_scale),
        "s_a": np.ones(n_beta),
        "s_m": np.zeros(n_beta),
    }
    default_init = _initial_params(t, y_scaled, cap_scaled, s.growth, changepoints_t.size, n_beta)
    init = _rescaled(warm, t_scale, y_scale, changepoints_t.size) if warm is not None else default_init
    if s.solver == "exact" and s.growth == "linear":
        params, outcome = map_linear(data)  # the exact optimum: no start point, no time limit needed
    else:
        try:
            params, outcome = optimize(data, init, s.stan, s.time_limit)
        except StanFitError:
            if warm is None:
                raise
            params, outcome = optimize(data, default_init, s.stan, s.time_limit)  # a bad warm start must not cost
    fit = ProphetFit(
        settings=s,
        start=start,
        t_scale=t_scale,
        y_scale=y_scale,
        changepoints_t=changepoints_t,
        k=float(params["k"][0]),
        m=float(params["m"][0]),
        delta=params["delta"],
        beta=params["beta"],
        sigma_obs=float(params["sigma_obs"][0]),
        residuals=np.empty(0),
        optimizer=outcome,
    )
    return replace(fit, residuals=y - fit.predict(days))


def _trend_uncertainty(fit: ProphetFit, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Prophet's future-trend simulation: slope changes as frequent and as large as in the history.

    Returns (samples, days) deviations in original units; zero for days inside the training history.
    """
    s = fit.settings
    t = fit.time_of(days)
    future = t > 1.0
    out = np.zeros((s.uncertainty_samples, days.size))
    if not future.any() or fit.changepoints_t.size == 0:
        return out
    step = 1.0 / fit.t_scale
    likelihood = fit.changepoints_t.size * step
    mean_delta = float(np.mean(np.abs(fit.delta))) + 1e-8
    n_future = int(future.sum())
    changes = rng.uniform(size=(s.uncertainty_samples, n_future)) < likelihood
    shifts = rng.laplace(0.0, mean_delta, size=changes.shape) * changes
    shifts = (shifts + np.hstack([np.zeros((shifts.shape[0], 1)), shifts[:, :-1]])) / 2.0
    paths = shifts.cumsum(axis=1).cumsum(axis=1) * step
    out[:, future] = paths * fit.y_scale
    return out


def interval_bounds(fit: ProphetFit, days: np.ndarray, yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``interval_width`` bounds: quantiles of yhat + simulated trend change + Gaussian observation noise."""
    s = fit.settings
    rng = np.random.default_rng(s.seed)
    noise = rng.normal(0.0, fit.sigma_obs * fit.y_scale, size=(s.uncertainty_samples, days.size))
    draws = yhat[None, :] + _trend_uncertainty(fit, days, rng) + noise
    alpha = (1.0 - s.interval_width) / 2.0
    lower, upper = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    return lower, upper


def interval(fit: ProphetFit, days: np.ndarray, yhat: np.ndarray) -> Band:
    """Prophet's own ``interval_width`` band (:func:`interval_bounds`), made physical."""
    return Band.bounded(yhat, *interval_bounds(fit, days, yhat))


@dataclass(frozen=True)
class RecentTrend:
    """What the last weeks of a series look like once seasonality is removed (:func:`recent_trend`)."""

    shape: Literal["line", "step", "hinge"]
    slope: float  # points per day at the last day
    level: float  # fitted value at the last day
    slope_error: float  # standard error of the slope at the last day: a line's, a hinge's ramp's (inf for a step)
    jump: float = 0.0  # a step's size (new level minus old)
    since: float = 0.0  # a step's first day at the new level, a hinge's break day (days relative to the last day)


def _effective_days(n: int) -> float:
    """Independent looks in ``n`` autocorrelated days (at least 3), for the BIC comparisons of shapes."""
    return max(n / AUTOCORRELATION_INFLATION**2, 3.0)


def _bic(sse: np.ndarray | float, n: float, params: int) -> np.ndarray | float:
    return n * np.log(np.maximum(sse, 1e-12) / n) + params * np.log(n)


def _hinge_moments(x: np.ndarray, v: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per break index b, of the ramp r = max(x - x[b], 0) over ascending ``x``: its mean, its centred sum of
    squares and its centred cross product with ``v``, from suffix sums (no breaks x days matrix)."""
    n = x.size
    suffix = [np.concatenate([np.cumsum(a[::-1])[::-1], [0.0]]) for a in (x, x * x, x * v, v)]
    sx, sxx, sxv, sv = (c[breaks] for c in suffix)
    after, at = n - breaks, x[breaks]
    total = sx - after * at
    squares = sxx - 2.0 * at * sx + after * at * at
    cross = sxv - at * sv
    return total / n, squares - total * total / n, cross - total * float(v.sum()) / n


def recent_trend(
    x: np.ndarray,
    v: np.ndarray,
    evidence: float = 10.0,
    min_segment: int = SHAPE_MIN_SEGMENT,
    min_before: int | None = None,
    min_after: int | None = None,
) -> RecentTrend:
    """Tell a slope from a level shift in the last weeks: a line, a step (two levels) or a hinge (level,
    then a ramp from some day on); ``x`` is days relative to the last day (<= 0).

    A step or hinge replaces the line only when its BIC is lower by ``evidence``, counted on the effective
    number of independent days (autocorrelated noise makes a spurious break look better than it is), and
    each side of its break holds ``min_segment`` days, except the old level before a step, which needs
    ``min_before``, and the new level after a step up, ``min_after`` (each by default, and at most,
    ``min_segment``): a level is read from fewer days than a slope, and a fall of the last days (a holiday, an
    outage) is more often one that comes back. Every break is tried at once (vectorised).
    """
    n = x.size
    n_eff = _effective_days(n)
    centred = x - x.mean()
    spread = float(centred @ centred)
    slope = float(centred @ (v - v.mean()) / spread)
    residuals = v - v.mean() - slope * centred
    line_sse = float(residuals @ residuals)
    line_error = float(np.sqrt(line_sse / max(n - 2, 1) / spread))
    best = RecentTrend("line", slope, float(v.mean() + slope * (0.0 - x.mean())), line_error)
    best_bic = _bic(line_sse, n_eff, 2) - evidence
    breaks = np.arange(min_segment, n - min_segment + 1)
    first_step = min_segment if min_before is None else min(min_before, min_segment)
    last_step = min_segment if min_after is None else min(min_after, min_segment)
    step_breaks = np.arange(first_step, n - last_step + 1)
    if step_breaks.size == 0:
        return best
    # Step: mean before and after each break.
    total, total_sq = np.cumsum(v), np.cumsum(v * v)
    left_n, right_n = step_breaks, n - step_breaks
    left_sum, right_sum = total[step_breaks - 1], total[-1] - total[step_breaks - 1]
    left_sq, right_sq = total_sq[step_breaks - 1], total_sq[-1] - total_sq[step_breaks - 1]
    step_sse = left_sq - left_sum**2 / left_n + right_sq - right_sum**2 / right_n
    # A new level shorter than min_segment days is read only where it rose.
    step_sse = np.where((right_n < min_segment) & (right_sum / right_n <= left_sum / left_n), np.inf, step_sse)
    # Hinge: y = a + b * max(x - x_break, 0), least squares per break (closed form from suffix sums: O(n)).
    ramp_mean, ramp_spread, ramp_cross = _hinge_moments(x, v, breaks)
    hinge_slope = np.where(ramp_spread > 0, ramp_cross / np.maximum(ramp_spread, 1e-12), 0.0)
    hinge_sse = float(v @ v) - n * v.mean() ** 2 - hinge_slope**2 * ramp_spread
    for shape, sse in (("step", step_sse), ("hinge", hinge_sse)):
        if sse.size == 0:
            continue
        pick = int(np.argmin(sse))
        bic = _bic(float(sse[pick]), n_eff, 3)
        if bic < best_bic:
            best_bic = bic
            if shape == "step":
                after, before = float(right_sum[pick] / right_n[pick]), float(left_sum[pick] / left_n[pick])
                since = float(x[step_breaks[pick]])
                best = RecentTrend("step", 0.0, after, float("inf"), jump=after - before, since=since)
            else:
                level = float(v.mean() + hinge_slope[pick] * (x[-1] - x[breaks[pick]] - ramp_mean[pick]))
                error = _hinge_slope_error(hinge_slope, sse, ramp_spread, pick, n)
                best = RecentTrend("hinge", float(hinge_slope[pick]), level, error, since=float(x[breaks[pick]]))
    return best


def _hinge_slope_error(slopes: np.ndarray, sse: np.ndarray, spread: np.ndarray, pick: int, n: int) -> float:
    """Standard error of a hinge's slope (``slopes[pick]``) with its break day estimated too: every break is
    weighted by its likelihood (Gaussian, ``n`` days), and the variance is each break's own slope variance
    plus how far its slope lies from the picked one. The picked break's variance alone understated the
    spread of hinge slopes by about half (white noise, a 30-day ramp)."""
    sse = np.maximum(sse, 1e-12)
    log_weight = -0.5 * n * np.log(sse / sse[pick])
    weight = np.exp(log_weight - log_weight.max())
    weight /= weight.sum()
    own = sse / max(n - 3, 1) / np.maximum(spread, 1e-12)
    return float(np.sqrt(weight @ (own + (slopes - slopes[pick]) ** 2)))


@dataclass(frozen=True)
class Compounding:
    """``floor + scale * exp(rate * x)``, x days from the last day: growth at a constant rate over a floor
    (rate > 0)."""

    floor: float
    scale: float
    rate: float  # per day

    def at(self, x: np.ndarray) -> np.ndarray:
        return self.floor + self.scale * np.exp(self.rate * x)


def _line_and_hinge_sse(x: np.ndarray, v: np.ndarray, min_segment: int = SHAPE_MIN_SEGMENT) -> tuple[float, float]:
    """Least-squares error of the best line and of the best hinge (flat, then a ramp) through ``(x, v)``."""
    centred, v_centred = x - x.mean(), v - v.mean()
    total = float(v_centred @ v_centred)
    line_sse = total - float(centred @ v_centred) ** 2 / float(centred @ centred)
    breaks = np.arange(min_segment, x.size - min_segment + 1)
    if breaks.size == 0:
        return line_sse, line_sse
    _, spread, cross = _hinge_moments(x, v, breaks)  # suffix sums: no breaks x days matrix
    hinge_sse = total - cross**2 / np.maximum(spread, 1e-12)
    return line_sse, float(hinge_sse.min())


def _exponential_fits(x: np.ndarray, v: np.ndarray, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of ``floor + scale * exp(rate * x)`` for each rate of a grid: (curves, scales, errors)."""
    curves = np.exp(rates[:, None] * x[None, :])
    curves_c = curves - curves.mean(axis=1, keepdims=True)
    spread = np.einsum("ij,ij->i", curves_c, curves_c)
    v_centred = v - v.mean()
    scale = curves_c @ v_centred / spread
    return curves, scale, float(v_centred @ v_centred) - scale**2 * spread


def rivals_bic(x: np.ndarray, v: np.ndarray) -> float:
    """The BIC (on effective days) of the better of the best line and the best hinge through ``(x, v)``."""
    n_eff = _effective_days(x.size)
    line_sse, hinge_sse = _line_and_hinge_sse(x, v)
    return float(min(_bic(line_sse, n_eff, 2), _bic(hinge_sse, n_eff, 3)))


def _evidence_over_line_and_hinge(
    x: np.ndarray, v: np.ndarray, sse: float, params: int = 3, rivals: float | None = None
) -> float:
    """How much lower a curve's BIC (``params`` parameters, error ``sse``) is than the better of the best
    line's and the best hinge's over the same days, on effective days (positive: the curve is likelier);
    ``rivals``: that better BIC (:func:`rivals_bic`), when already known."""
    rivals = rivals_bic(x, v) if rivals is None else rivals
    return float(rivals - _bic(sse, _effective_days(x.size), params))


def _beats_line_and_hinge(x: np.ndarray, v: np.ndarray, sse: float, evidence: float, params: int = 3) -> bool:
    """A curve's fit is better than the best line's and the best hinge's by ``evidence``."""
    return _evidence_over_line_and_hinge(x, v, sse, params) > evidence


def compounding_fit(
    x: np.ndarray, v: np.ndarray, doubling_days: tuple[float, float], rivals: float | None = None
) -> tuple[Compounding, float] | None:
    """The rising exponential over a floor that fits ``(x, v)`` best, searched on a grid of doubling times
    within ``doubling_days`` (least squares for floor and scale at each), and its evidence: how much lower its
    BIC (on effective days) is than the better of a line and a hinge over the same days (positive: the
    curve is the likelier shape; ``rivals``: their BIC, :func:`rivals_bic`, when already known). None when the
    best curve falls."""
    best = _best_compounding(x, v, doubling_days)
    if best is None:
        return None
    curve, sse = best
    return curve, _evidence_over_line_and_hinge(x, v, sse, rivals=rivals)


#: Rates on the doubling-time grid of :func:`compounding_fit` (evenly spaced in log, 6% apart over 25-400 days).
GRID_RATES = 48


def doubling_grid(doubling_days: tuple[float, float]) -> np.ndarray:
    """The doubling times :func:`compounding_fit` searches, fastest first: ``GRID_RATES`` evenly spaced in log."""
    return np.geomspace(*doubling_days, GRID_RATES)


def _best_compounding(
    x: np.ndarray, v: np.ndarray, doubling_days: tuple[float, float], refine: bool = False
) -> tuple[Compounding, float] | None:
    """The least-squares rising exponential over a floor on the doubling-time grid (48 rates 6% apart), and
    its error; ``refine`` searches again between the best rate's neighbours, 0.4% apart."""
    rates = np.log(2.0) / doubling_grid(doubling_days)
    curves, scale, sse = _exponential_fits(x, v, rates)
    pick = int(np.argmin(sse))
    if refine:
        rates = np.linspace(rates[min(pick + 1, rates.size - 1)], rates[max(pick - 1, 0)], 33)
        curves, scale, sse = _exponential_fits(x, v, rates)
        pick = int(np.argmin(sse))
    if scale[pick] <= 0.0:
        return None
    floor = float(v.mean() - scale[pick] * curves[pick].mean())
    return Compounding(floor, float(scale[pick]), float(rates[pick])), float(sse[pick])


def compounding_growth(x: np.ndarray, v: np.ndarray, settings: ProphetSettings) -> Compounding | None:
    """Growth that compounds (users, data, traffic growing by a share a day): the curve of
    :func:`compounding_fit`, kept only when its BIC beats both a line and a hinge over the same days by
    ``growth_evidence``. A line reads such a series' recent slope and under-forecasts a crossing that comes
    sooner every week. ``x`` may reach further back than the window: the curve found there is then read again
    over ``growth_fit_window`` days (:func:`longer_curve`). Where the window finds no curve, a young one is
    looked for over ``growth_search_window`` days (:func:`young_curve`), and where none is found there, a slow
    one (``slow_compounding``, :func:`slow_curve`).
    """
    recent = x > -settings.growth_window
    xr, vr = x[recent], v[recent]
    rivals = rivals_bic(xr, vr)  # the window's line and hinge, for both searches
    best = _best_compounding(xr, vr, settings.doubling_days)
    if best is not None and _evidence_over_line_and_hinge(xr, vr, best[1], rivals=rivals) > settings.growth_evidence:
        return longer_curve(x, v, best[0], settings)
    young = young_curve(x, v, settings, rivals)
    if young is not None or not settings.slow_compounding:
        return young
    return slow_curve(x, v, settings, rivals)


def broken_line_sse(x: np.ndarray, v: np.ndarray, min_segment: int = SHAPE_MIN_SEGMENT) -> float:
    """Least-squares error of the best broken line through ``(x, v)``: one line whose slope changes once, on a
    day at least ``min_segment`` days from either end (a line plus a ramp from that day)."""
    breaks = np.arange(min_segment, x.size - min_segment + 1)
    centred, v_centred = x - x.mean(), v - v.mean()
    scale = float(centred @ centred)
    slope = float(centred @ v_centred) / scale
    line_residual = v_centred - centred * slope
    line_sse = float(line_residual @ line_residual)
    if breaks.size == 0:
        return line_sse
    _, spread, cross = _hinge_moments(x, v, breaks)
    _, _, with_x = _hinge_moments(x, x, breaks)
    # Each ramp less what the line already explains (its regression on x), by its centred moments.
    spread = np.maximum(spread - with_x**2 / scale, 1e-12)
    return float(np.min(line_sse - (cross - with_x * slope) ** 2 / spread))


def slow_curve(
    x: np.ndarray, v: np.ndarray, settings: ProphetSettings, window_rivals: float | None = None
) -> Compounding | None:
    """Growth that compounds so slowly (doubling every ``slow_doubling_days``) that the last
    ``growth_window`` days are a line: :func:`young_curve` over the same days with that doubling range, its
    curve allowed to explain the window up to ``growth_fit_tolerance`` worse than the window's own line and
    hinge (BIC; a slow curve there is a line, one parameter dearer), and kept only where, over the days
    searched, it is at least as likely as a line whose slope changed once (:func:`broken_line_sse`, BIC): a
    slope that stepped up a year ago bends like a slow curve and is no compounding. None where either fails."""
    curve = young_curve(x, v, settings, window_rivals, settings.slow_doubling_days, settings.growth_fit_tolerance)
    if curve is None:
        return None
    longer = x > -settings.growth_search_window
    xl, vl = x[longer], v[longer]
    n_eff = _effective_days(xl.size)
    curve_bic = _bic(float(np.sum((curve.at(xl) - vl) ** 2)), n_eff, 3)
    return curve if _bic(broken_line_sse(xl, vl), n_eff, 4) >= curve_bic else None


def young_curve(
    x: np.ndarray,
    v: np.ndarray,
    settings: ProphetSettings,
    window_rivals: float | None = None,
    doubling_days: tuple[float, float] | None = None,
    window_slack: float = 0.0,
) -> Compounding | None:
    """The best compounding curve, doubling every ``young_doubling_days`` (or ``doubling_days``), over the
    last ``growth_search_window`` days (most of them observed), kept when it beats a line and a hinge there by
    ``growth_evidence`` and still explains the last ``growth_window`` days at least as well as the best line and
    hinge fitted to them alone, less ``window_slack`` (BIC; ``window_rivals``: their BIC, when already known):
    growth so young, or so slow, that those days alone cannot tell it from a line. None when off, when the days
    are too few or when either test fails."""
    search = settings.growth_search_window
    if search is None or search <= settings.growth_window:
        return None
    recent, longer = x > -settings.growth_window, x > -search
    if longer.sum() < MOSTLY_OBSERVED * search or longer.sum() <= recent.sum():
        return None
    best = _best_compounding(x[longer], v[longer], doubling_days or settings.young_doubling_days, refine=True)
    if best is None:
        return None
    curve, sse = best
    xr, vr = x[recent], v[recent]
    recent_sse = float(np.sum((curve.at(xr) - vr) ** 2))
    if _evidence_over_line_and_hinge(xr, vr, recent_sse, rivals=window_rivals) < -window_slack:  # the cheaper first
        return None
    return curve if _evidence_over_line_and_hinge(x[longer], v[longer], sse) > settings.growth_evidence else None


def longer_curve(x: np.ndarray, v: np.ndarray, curve: Compounding, settings: ProphetSettings) -> Compounding:
    """``curve`` (found over the last ``growth_window`` days of ``(x, v)``) read again over the last
    ``growth_fit_window`` days, when those hold more days and the longer curve still fits the recent window:
    its BIC there is within ``growth_fit_tolerance`` of ``curve``'s (same parameters, effective days). Growth
    that compounds keeps its rate, so more days pin the floor and the rate; growth that began differently
    (a decline, a step) fails the recent window and keeps the recent curve."""
    found = _longer_fit(x, v, settings)
    if found is None:
        return curve
    longer = found[0]
    return longer if _still_fits_window(x, v, curve, longer, settings) else curve


def _still_fits_window(
    x: np.ndarray, v: np.ndarray, curve: Compounding, longer: Compounding, settings: ProphetSettings
) -> bool:
    """``longer``'s BIC over the last ``growth_window`` days is within ``growth_fit_tolerance`` of ``curve``'s."""
    recent = x > -settings.growth_window
    xr, vr = x[recent], v[recent]
    own, other = float(np.sum((curve.at(xr) - vr) ** 2)), float(np.sum((longer.at(xr) - vr) ** 2))
    gap = _effective_days(xr.size) * np.log(max(other, 1e-12) / max(own, 1e-12))
    return bool(gap <= settings.growth_fit_tolerance)


def _longer_fit(
    x: np.ndarray, v: np.ndarray, settings: ProphetSettings
) -> tuple[Compounding, float, np.ndarray] | None:
    """The best rising curve over the last ``growth_fit_window`` days of ``(x, v)`` (rate refined), its error
    there and those days' mask; None when off, when those days are no more than the window's, or when the best
    curve there falls."""
    if settings.growth_fit_window is None:
        return None
    recent, longer = x > -settings.growth_window, x > -settings.growth_fit_window
    if longer.sum() <= recent.sum():
        return None
    fit = _best_compounding(x[longer], v[longer], settings.doubling_days, refine=True)
    return None if fit is None else (fit[0], fit[1], longer)


@dataclass(frozen=True)
class LongerReading:
    """A series' best rising curve over the last ``growth_fit_window`` days (:func:`longer_reading`)."""

    curve: Compounding
    evidence: float  # over those days, against the better of a line and a hinge there (BIC, effective days)
    window_evidence: float  # over the last growth_window days, against the window's own line and hinge
    fits_window: bool  # what longer_curve asks before it takes the curve in place of the window's own


def longer_reading(
    x: np.ndarray, v: np.ndarray, window_curve: Compounding, settings: ProphetSettings, window_rivals: float
) -> LongerReading | None:
    """The curve :func:`longer_curve` reads over ``growth_fit_window`` days in place of ``window_curve``, with
    its evidence there and over the recent window (``window_rivals``: the window's line-and-hinge BIC,
    :func:`rivals_bic`), whatever the window's own evidence: growth that compounds slowly can look straight
    over the window and still bend clearly over two years. One fit serves both uses. None where
    :func:`_longer_fit` is."""
    found = _longer_fit(x, v, settings)
    if found is None:
        return None
    curve, sse, longer = found
    recent = x > -settings.growth_window
    xr, vr = x[recent], v[recent]
    return LongerReading(
        curve,
        _evidence_over_line_and_hinge(x[longer], v[longer], sse),
        _evidence_over_line_and_hinge(xr, vr, float(np.sum((curve.at(xr) - vr) ** 2)), rivals=window_rivals),
        _still_fits_window(x, v, window_curve, curve, settings),
    )


@dataclass(frozen=True)
class Saturating:
    """``base + rise / (1 + exp(-(x - midpoint) / scale))``, x days from the last day: an S-curve whose
    midpoint is behind us, levelling off at ``base + rise``."""

    base: float
    rise: float
    midpoint: float  # days from the last day (< 0)
    scale: float  # days

    @property
    def ceiling(self) -> float:
        return self.base + self.rise

    def slope_at(self, x: float) -> float:
        share = 1.0 / (1.0 + np.exp(-(x - self.midpoint) / self.scale))
        return float(self.rise * share * (1.0 - share) / self.scale)

    def at(self, x: np.ndarray) -> np.ndarray:
        return self.base + self.rise / (1.0 + np.exp(-(x - self.midpoint) / self.scale))


def _rising_fits(curves: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of ``base + rise * curve`` for each row of ``curves``: (rise, error); a falling fit's
    error is inf."""
    centred = curves - curves.mean(axis=1, keepdims=True)
    spread = np.einsum("ij,ij->i", centred, centred)
    v_centred = v - v.mean()
    rise = centred @ v_centred / np.maximum(spread, 1e-12)
    sse = float(v_centred @ v_centred) - rise**2 * spread
    return rise, np.where((spread > 1e-9) & (rise > 0.0), sse, np.inf)


def saturating_growth(x: np.ndarray, v: np.ndarray, settings: ProphetSettings) -> Saturating | None:
    """Growth that slows toward a ceiling (a service that has found its users, a migration nearly done): an
    S-curve (logistic) whose midpoint lies at least one ``scale`` behind the last day, so the slowing is in
    the data. Midpoint and scale are searched on a grid over weekly means (``saturation_scale_days``;
    midpoints every week from the last day back to well before the window), base and rise by least squares;
    the best curve is kept only when, on the daily values, its BIC beats a line and a hinge by
    ``saturation_evidence``. Its forecast levels off at the ceiling; a line, or Prophet's last trend segment,
    carries the last months' slope on for the whole horizon and runs a series that is levelling off at 85
    into a false breach of 95. Not tried when the window rose less than ``material_points``.
    """
    if settings.saturation_evidence is None:
        return None
    first, last = v[x < x.min() + 28].mean(), v[x > x.max() - 28].mean()
    if last - first < settings.material_points:
        return None
    low, high = settings.saturation_scale_days
    scales = np.geomspace(low, high, 24)
    midpoints = -np.arange(0.0, float(-x.min()) + 3.0 * high, 7.0)
    scale, midpoint = (grid.ravel() for grid in np.meshgrid(scales, midpoints, indexing="ij"))
    behind = midpoint < -scale  # past the midpoint by a scale: the slowing has begun
    scale, midpoint = scale[behind], midpoint[behind]
    week = ((x.max() - x) // 7).astype(np.int64)
    counts = np.bincount(week)
    seen = counts > 0
    x_week = np.bincount(week, weights=x)[seen] / counts[seen]
    v_week = np.bincount(week, weights=v)[seen] / counts[seen]
    _, weekly_sse = _rising_fits(1.0 / (1.0 + np.exp(-(x_week[None, :] - midpoint[:, None]) / scale[:, None])), v_week)
    pick = int(np.argmin(weekly_sse))
    if not np.isfinite(weekly_sse[pick]):
        return None
    curve = 1.0 / (1.0 + np.exp(-(x - midpoint[pick]) / scale[pick]))
    rise, sse = _rising_fits(curve[None, :], v)
    if not np.isfinite(sse[0]) or not _beats_line_and_hinge(x, v, float(sse[0]), settings.saturation_evidence, 4):
        return None
    base = float(v.mean() - rise[0] * curve.mean())
    return Saturating(base, float(rise[0]), float(midpoint[pick]), float(scale[pick]))


def consensus_slope(candidates: Sequence[float]) -> float:
    """The growth every candidate agrees on: the smallest slope if all share a sign, else none."""
    signs = np.sign(candidates)
    if signs.size == 0 or not np.all(signs == signs[0]):
        return 0.0
    return float(signs[0] * np.min(np.abs(candidates)))


def past_slopes(x: np.ndarray, v: np.ndarray, window: int, stride: int = 7) -> np.ndarray:
    """Least-squares slopes of every ``window``-point stretch (every ``stride`` points): how steep this
    series' ordinary weeks are (cumulative sums, no loop over stretches)."""
    n = x.size
    if n < window:
        return np.empty(0)
    starts = np.arange(0, n - window + 1, stride)
    sums = [np.concatenate([[0.0], np.cumsum(a)]) for a in (x, v, x * x, x * v)]
    sx, sv, sxx, sxv = ((c[starts + window] - c[starts]) for c in sums)
    spread = sxx - sx * sx / window
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, (sxv - sx * sv / window) / spread, 0.0)


def _sudden_drops(change: np.ndarray, min_drop: float = 5.0, noise_multiple: float = 6.0) -> np.ndarray:
    """Which day-on-day changes are sudden drops (cleanups, restarts): falls larger than ``min_drop`` points and
    ``noise_multiple`` times the typical day-on-day change."""
    if change.size == 0:
        return np.zeros(0, dtype=bool)
    typical = float(np.median(np.abs(change)))
    return change < -max(min_drop, noise_multiple * typical)


def resets(values: np.ndarray, min_drop: float = 5.0, noise_multiple: float = 6.0) -> int:
    """Sudden drops in a series' past (:func:`_sudden_drops`)."""
    return int(_sudden_drops(np.diff(values), min_drop, noise_multiple).sum())


def wanders(x: np.ndarray, v: np.ndarray, slope: float, settings: ProphetSettings) -> bool:
    """Whether ``slope`` is a material one (``material_points`` over ``material_days``) of the kind a wandering
    level has taken back before: somewhere before the last ``recent_window`` days the series went both ways at
    least as fast for ``material_days`` days (least-squares lines; sudden drops, :func:`_sudden_drops`, left
    out, so that a fill's cleanups and a leak's restarts are not read as falls of the fill). A level that has
    risen and fallen as steeply as it now moves gives no reason to expect the move to hold for months; a ramp
    steeper than anything before it does, and so does one after a single earlier fall (a drain, or a step down
    taken over a few days, which a 90-day line reads as a fall), since nothing rose and was taken back. A slope
    under the material size is left alone: noise alone makes 90-day stretches move that slowly, and early
    compounding growth climbs no faster."""
    before = x <= -settings.recent_window
    if abs(slope) * settings.material_days < settings.material_points or before.sum() <= settings.material_days:
        return False
    change = np.diff(v[before])
    path = np.concatenate([[0.0], np.cumsum(np.where(_sudden_drops(change), 0.0, change))])
    slopes = past_slopes(x[before], path, settings.material_days)
    return bool(np.any(slopes <= -abs(slope)) and np.any(slopes >= abs(slope)))


WANDER_CHANGE_WEEKS = 13  # a quarter: the span the variance ratio and the line's test look over
WANDER_LINE_WEEKS = 8  # the weeks a line is fitted through (recent_window's)
WANDER_LEVEL_WEEKS = 4  # the weeks a level is the mean of in the wander tests (the forecast's: wander_level_weeks)
WANDER_MIN_WEEKS = 104  # two years of weekly means


@dataclass(frozen=True)
class WanderingLevel:
    """A level that wanders and drifts back (:func:`wandering_level`): the AR(1) of its weekly means."""

    level: float  # the last wander_level_weeks weeks' mean
    centre: float  # the level the weekly means drift back to
    persistence: float  # their AR(1) coefficient per week, in [0, 1]: 1 is a random walk, no drift back
    misses: np.ndarray  # (2, weeks): quantiles of the forecast's past misses 1..weeks weeks ahead

    def at(self, ahead: np.ndarray) -> np.ndarray:
        """The level ``ahead`` days on: drifting back from the last level at the weekly persistence."""
        return self.centre + self.persistence ** (ahead / 7.0) * (self.level - self.centre)

    def widening(self, ahead: np.ndarray) -> np.ndarray:
        """How far the level's own wander widens the band ``ahead`` days on (rows below and above, points; see
        :func:`widened`): its past misses at as many weeks ahead (the furthest read for later days)."""
        weeks = np.clip(np.ceil(ahead / 7.0).astype(np.int64), 1, self.misses.shape[1]) - 1
        return np.vstack([np.maximum(-self.misses[0, weeks], 0.0), np.maximum(self.misses[1, weeks], 0.0)])


def weekly_means(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Means of ``v`` over the 7-day weeks counted back from the last day (``x``: days relative to it), oldest
    first; a week without a value takes its neighbours' (linear interpolation)."""
    week = (-x // 7).astype(np.int64)
    counts = np.bincount(week)
    sums = np.bincount(week, weights=v)
    seen = counts > 0
    index = np.arange(counts.size)
    means = np.interp(index, index[seen], sums[seen] / counts[seen])
    return means[::-1]


def variance_ratio(weeks: np.ndarray, span: int = WANDER_CHANGE_WEEKS) -> float:
    """Variance of ``span``-week changes over ``span`` times that of one-week changes: about 1 for a random
    walk, near 1 / span for noise around a fixed level (each change is two weeks' noise, as is each one-week
    change)."""
    one = np.diff(weeks)
    many = weeks[span:] - weeks[:-span]
    denominator = span * float(one.var())
    return float(many.var()) / denominator if denominator > 0.0 else 0.0


def without_steps(weeks: np.ndarray, steps: int = 2, min_weeks: int = WANDER_LEVEL_WEEKS) -> np.ndarray:
    """``weeks`` less the levels of up to ``steps`` level shifts (:func:`level_segments`: each taken only where
    it earns its BIC, levels at least ``min_weeks`` long): what is left of a workload moved on, or moved on and
    off again, is its noise; of a wander, a wander."""
    bounds = [0, *level_segments(weeks, min_segment=min_weeks, max_levels=steps + 1).tolist(), weeks.size]
    return np.concatenate([weeks[lo:hi] - weeks[lo:hi].mean() for lo, hi in itertools.pairwise(bounds)])


def line_loss(weeks: np.ndarray, fitted: int = WANDER_LINE_WEEKS, ahead: int = WANDER_CHANGE_WEEKS) -> float:
    """How much worse a line through ``fitted`` weeks, carried ``ahead`` weeks on, forecast those weeks than the
    last WANDER_LEVEL_WEEKS weeks' level did, from every origin of ``weeks`` (absolute errors, summed): under 1
    where this series' trends hold, over 1 where they are taken back."""
    windows = np.lib.stride_tricks.sliding_window_view(weeks, fitted + ahead)
    if windows.shape[0] == 0:
        return 0.0
    past, future = windows[:, :fitted], windows[:, fitted:]
    centred = np.arange(fitted) - (fitted - 1) / 2.0
    slope = past @ centred / float(centred @ centred)
    steps = np.arange(fitted, fitted + ahead) - (fitted - 1) / 2.0
    line = past.mean(axis=1, keepdims=True) + slope[:, None] * steps[None, :]
    level = past[:, -WANDER_LEVEL_WEEKS:].mean(axis=1, keepdims=True)
    flat = float(np.abs(future - level).sum())
    return float(np.abs(future - line).sum()) / flat if flat > 0.0 else 0.0


def _ar1_spread(sigma: float, persistence: float, weeks: int) -> np.ndarray:
    """Standard deviation of an AR(1)'s level 1..``weeks`` weeks ahead from a known start: ``sigma`` (its weekly
    shock) times the square root of the sum of ``persistence`` ** 2j over the weeks so far (a random walk's
    square root of the weeks at persistence 1)."""
    return sigma * np.sqrt(np.cumsum(persistence ** (2.0 * np.arange(weeks))))


def wandering_level(
    x: np.ndarray, v: np.ndarray, settings: ProphetSettings, horizon_weeks: int = 26
) -> WanderingLevel | None:
    """The wandering level of ``(x, v)`` (days relative to the last day, seasonality removed), or None when
    its history does not wander: fewer than two years of weeks, or before the last ``recent_window`` days its
    weekly means spread over a quarter less than ``wander_min_variance_ratio`` of a random walk's
    (:func:`variance_ratio`), or less than ``wander_min_step_free_ratio`` once up to two level shifts are taken
    out (:func:`without_steps`: a workload moved on, or on and off again), or a line through two months held
    over the next quarter better than ``wander_min_line_loss`` times the last level (:func:`line_loss`): the
    series keeps its trends.

    The weekly means are read as an AR(1) (least squares), whose forecast drifts from the last weeks' level
    back to the means' own level only where the coefficient is told from 1 (Dickey-Fuller t, with a constant,
    under ``wander_unit_root_t``; else it holds the last level: a random walk); its misses
    1..``horizon_weeks`` weeks ahead from every past origin (the ``interval_width`` quantiles) are how far the
    level's wander widens the band, each at least the AR(1)'s own normal spread that many weeks ahead
    (``wander_model_floor``): a few years of overlapping origins hold few independent looks at a quarter ahead,
    and a history that happened to wander little there understates the next quarter's."""
    weeks = weekly_means(x, v)
    if weeks.size < WANDER_MIN_WEEKS:
        return None
    before = weeks[: weeks.size - settings.recent_window // 7]
    if variance_ratio(before) < settings.wander_min_variance_ratio:
        return None
    if variance_ratio(without_steps(before)) < settings.wander_min_step_free_ratio:
        return None  # one or two level shifts (a workload moved on, or on and off), noise around them
    if line_loss(before) < settings.wander_min_line_loss:
        return None
    design = np.column_stack([np.ones(weeks.size - 1), weeks[:-1]])
    sse, (intercept, coefficient) = _least_squares(design, weeks[1:])
    spread = float(np.sum((weeks[:-1] - weeks[:-1].mean()) ** 2))
    error = np.sqrt(sse / max(weeks.size - 3, 1) / spread) if spread > 0.0 else np.inf
    reverts = settings.wander_unit_root_t is None or (coefficient - 1.0) / error < settings.wander_unit_root_t
    persistence = float(np.clip(coefficient, 0.0, 1.0)) if reverts else 1.0
    centre = float(intercept / (1.0 - coefficient)) if persistence < 1.0 else float(weeks.mean())
    totals = np.concatenate([[0.0], np.cumsum(weeks)])
    span = settings.wander_level_weeks
    origins = np.arange(max(WANDER_LEVEL_WEEKS, span), weeks.size)  # weeks seen before the origin: 0..origin-1
    levels = (totals[origins] - totals[origins - span]) / span
    quantiles = [(1.0 - settings.interval_width) / 2.0, (1.0 + settings.interval_width) / 2.0]
    misses = np.zeros((2, horizon_weeks))
    for k in range(1, horizon_weeks + 1):  # one vector per week ahead
        usable = origins + k - 1 < weeks.size
        if usable.sum() < WANDER_CHANGE_WEEKS:
            misses[:, k - 1] = misses[:, k - 2] if k > 1 else 0.0
            continue
        forecast = centre + persistence**k * (levels[usable] - centre)
        misses[:, k - 1] = np.quantile(weeks[origins[usable] + k - 1] - forecast, quantiles)
    if settings.wander_model_floor:
        ar1 = _ar1_spread(np.sqrt(sse / max(weeks.size - 3, 1)), persistence, horizon_weeks)
        reach = NormalDist().inv_cdf(quantiles[1]) * ar1
        misses = np.vstack([np.minimum(misses[0], -reach), np.maximum(misses[1], reach)])
    level = float(weeks[-span:].mean())
    return WanderingLevel(level, centre, persistence, misses)


def extrapolation_plan(
    final_slope: float,
    recent: RecentTrend,
    past: np.ndarray,
    settings: ProphetSettings,
    season_explains_rise: bool = False,
) -> tuple[float, float, float] | None:
    """(level at the last day, slope per day, daily damping of the slope) to continue from, or None to keep
    Prophet's own trend.

    - a step in the direction the fitted trend climbs (a workload moved on, or off): flat from the new level;
      Prophet's last segment took the step for growth;
    - the recent slope is flatter than the fitted one, or of the other sign, significantly (a line by
      ``consensus_z`` inflated standard errors, or a hinge) and by enough to matter (the two part by at least
      ``material_points`` over ``material_days``): growth that levelled off; continue from the recent level
      at the slope both agree on, damped by ``damping`` a day (a series that is slowing down goes on slowing
      down), or flat when the recent slope cannot be told from zero;
    - the recent slope is steeper (a ramp the last changepoint came too early to see), by as much: followed
      only when it is steeper than every ``past_window``-day stretch of this series' past (``past``), since
      fills before cleanups and memory leaks before restarts ramp again and again; a ramp younger than that
      (:func:`young_rise`, ``past`` then its own length's stretches) by ``consensus_z`` standard errors;
    - otherwise Prophet's trend.
    """
    if recent.shape == "step":
        inflated = np.sign(recent.jump) == np.sign(final_slope)
        return (recent.level, 0.0, 1.0) if inflated else None
    apart = abs(recent.slope - final_slope) * settings.material_days >= settings.material_points
    significant = recent.shape == "hinge" or (
        abs(recent.slope - final_slope) > settings.consensus_z * recent.slope_error * AUTOCORRELATION_INFLATION
    )
    if not (apart and significant):
        return None
    if np.sign(recent.slope) != np.sign(final_slope) or abs(recent.slope) <= abs(final_slope):
        # A recent line whose slope cannot be told from zero is flat: 0.08 a day of noise carried for 180 days
        # is 14 points of growth the series never showed.
        flat = recent.shape == "line" and abs(recent.slope) <= settings.consensus_z * recent.slope_error * (
            AUTOCORRELATION_INFLATION
        )
        return recent.level, 0.0 if flat else consensus_slope([final_slope, recent.slope]), settings.damping
    margin = 0.0
    if young_rise(recent, settings):
        # Two slopes read from as many days, each as uncertain as the ramp's own: their difference's standard error.
        margin = settings.consensus_z * np.sqrt(2.0) * recent.slope_error * AUTOCORRELATION_INFLATION
    unprecedented = past.size == 0 or abs(recent.slope) - float(np.max(np.abs(past))) > margin
    return (recent.level, recent.slope, 1.0) if unprecedented and not season_explains_rise else None


def young_rise(recent: RecentTrend, settings: ProphetSettings) -> bool:
    """The last weeks are a rising hinge whose ramp began fewer than ``past_window`` days before the last day
    (shorter than the stretches a ramp's slope is otherwise judged against), and ``young_ramp_check`` is on. A
    fall is left as it was: it raises no breach alarm, and a host being decommissioned falls once."""
    young = recent.shape == "hinge" and -recent.since < settings.past_window
    return settings.young_ramp_check and young and recent.slope > 0.0


def ramp_past(x: np.ndarray, v: np.ndarray, recent: RecentTrend, settings: ProphetSettings) -> np.ndarray:
    """Slopes of the past (``x``, ``v``: the days before the last weeks) a recent shape is judged steeper than:
    every ``past_window``-day stretch, every 7th; for a young ramp (:func:`young_rise`), every stretch as long
    as the ramp (at least SHAPE_MIN_SEGMENT days)."""
    if not young_rise(recent, settings):
        return past_slopes(x, v, settings.past_window)
    return past_slopes(x, v, max(round(-recent.since), SHAPE_MIN_SEGMENT), stride=1)


def yearly_agreement(
    days: np.ndarray,
    y: np.ndarray,
    order: int = 3,
    min_days: int = 300,
    min_size_ratio: float | None = None,
    strong: float = 1.0,
) -> float | None:
    """How alike consecutive years of a series are in their seasonal shape: the lowest cosine similarity
    between the yearly Fourier coefficients (sin/cos up to ``order``) fitted to each 365-day block of history
    (counted back from the last day, each with its own level and slope), over consecutive pairs of blocks with
    at least ``min_days`` observations. 1 is the same shape every year, about 0 unrelated shapes, negative
    opposite ones; None when fewer than two consecutive blocks qualify (no second year to agree with).

    With ``min_size_ratio``, a pair whose smaller swing (norm of its coefficients) is under that share of the
    larger counts as unrelated (0) unless its shapes agree at ``strong`` or more: one year's one-off event
    matched by the other year's noise is not a season.

    It reads the data, not Prophet's fit: the fitted yearly term absorbs a one-off ramp, and the trend then
    cancels it in the other years, so the fit's own residuals repeat whether or not the series does.
    """
    age = (days[-1] - days).astype(np.int64)
    block = age // 365
    t = (days - EPOCH).astype(np.float64)
    coefficients: dict[int, np.ndarray] = {}
    for b in np.unique(block):
        inside = block == b
        if inside.sum() < min_days:
            continue
        tb = t[inside]
        columns = [np.ones(tb.size), (tb - tb.mean()) / 365.0]
        for k in range(1, order + 1):
            angle = 2.0 * np.pi * k * tb / 365.25
            columns += [np.sin(angle), np.cos(angle)]
        solution, *_ = np.linalg.lstsq(np.column_stack(columns), y[inside], rcond=None)
        coefficients[int(b)] = solution[2:]
    similarities = []
    for b in sorted(coefficients):
        if b + 1 not in coefficients:
            continue
        u, v = coefficients[b], coefficients[b + 1]
        sizes = sorted((float(np.linalg.norm(u)), float(np.linalg.norm(v))))
        cosine = float(u @ v) / (sizes[0] * sizes[1]) if sizes[0] * sizes[1] > 1e-12 else 0.0
        comparable = min_size_ratio is None or sizes[0] >= min_size_ratio * sizes[1]
        similarities.append(cosine if comparable or cosine >= strong else 0.0)
    return min(similarities) if similarities else None


def season_agreement(days: np.ndarray, y: np.ndarray, settings: ProphetSettings) -> float | None:
    """:func:`yearly_agreement` of ``(days, y)`` as the settings read it (``yearly_check_order``,
    ``yearly_min_size_ratio``, ``yearly_strong_agreement``): one reading per series and cut, shared by
    :func:`sharper_season`, :func:`continued_trend` and :func:`growing_season`."""
    return yearly_agreement(
        days,
        y,
        settings.yearly_check_order,
        min_size_ratio=settings.yearly_min_size_ratio,
        strong=settings.yearly_strong_agreement,
    )


def sharper_season(
    fit: ProphetFit, days: np.ndarray, y: np.ndarray, agreement: float | Literal["read"] | None = "read"
) -> ProphetFit:
    """``fit`` refitted with more yearly Fourier terms where ``sharp_seasons`` is on (and the settings have a
    yearly term at all), every two consecutive years of ``(days, y)`` agree strongly on one seasonal shape
    (:func:`yearly_agreement` at least ``yearly_strong_agreement``) and the extra terms earn their place. The
    orders of ``SHARP_YEARLY_ORDERS`` up to ``sharpest_yearly_order`` are tried in turn, each kept only where
    its BIC on effective days, counting its extra terms, is lower than the order below's by ``shape_evidence``;
    the climb stops at the first that is not. A mild swell the years agree on keeps the fewer terms, which the
    extra ones would only make noisier. ``agreement``: :func:`season_agreement`, read here when not given."""
    s = fit.settings
    ladder = [order for order in SHARP_YEARLY_ORDERS if s.yearly_order < order <= s.sharpest_yearly_order]
    if not s.sharp_seasons or s.yearly_order <= 0 or not ladder:
        return fit
    if agreement == "read":
        agreement = season_agreement(days, y, s)
    if agreement is None or agreement < s.yearly_strong_agreement:
        return fit
    n_eff = _effective_days(days.size)
    best, best_bic = fit, _bic(float(fit.residuals @ fit.residuals), n_eff, 0)
    for order in ladder:
        candidate = fit_prophet(days, y, replace(s, yearly_order=order))
        bic = _bic(float(candidate.residuals @ candidate.residuals), n_eff, 2 * (order - s.yearly_order))
        if bic >= best_bic - s.shape_evidence:
            break
        best, best_bic = candidate, bic
    return best


def calendar_peaks_earn(fit: ProphetFit, days: np.ndarray) -> bool:
    """Whether month-end and quarter-end columns (:func:`calendar_features`) earn their place in a fit without
    them: the fit's residuals regressed on them lower the BIC on effective days, counting every column, by
    ``shape_evidence``. A close that lifts its days by several times the noise does so by hundreds; a series
    without one never does, and keeps the fit it had (chance alone lowers the squared error by about one noise
    variance per column, a few days' worth)."""
    columns = calendar_features(days)
    if not np.any(columns.any(axis=0)):
        return False
    n_eff = _effective_days(days.size)
    residual_sse = float(fit.residuals @ fit.residuals)
    calendar_sse, _ = _least_squares(columns, fit.residuals)
    evidence = _bic(residual_sse, n_eff, 0) - _bic(calendar_sse, n_eff, CALENDAR_COLUMNS)
    return bool(evidence > fit.settings.shape_evidence)


def with_calendar_peaks(days: np.ndarray, y: np.ndarray, settings: ProphetSettings) -> ProphetFit:
    """The fit of ``(days, y)`` without calendar columns, or with them where ``settings.calendar_peaks`` is on and
    they earn their place (:func:`calendar_peaks_earn`): only series with month-end or quarter-end closes pay
    for (and are moved by) the second fit."""
    fit = fit_prophet(days, y, replace(settings, calendar_peaks=False))
    if settings.calendar_peaks and calendar_peaks_earn(fit, days):
        return fit_prophet(days, y, settings)
    return fit


def refit_without_yearly(fit: ProphetFit, days: np.ndarray, y: np.ndarray) -> ProphetFit:
    """The same model fitted again on the same days with no yearly term: trend and weekly terms that explain
    the data on their own (zeroing the yearly coefficients of the joint fit leaves a trend that had leaned on
    them, off the data by up to several points)."""
    return fit_prophet(days, y, replace(fit.settings, yearly_order=0))


def without_yearly(fit: ProphetFit) -> ProphetFit:
    """The fit with its yearly Fourier terms set to zero (trend and weekly terms as fitted)."""
    beta = fit.beta.copy()
    beta[: 2 * fit.settings.yearly_order] = 0.0
    return replace(fit, beta=beta)


def _falling(shape: RecentTrend, settings: ProphetSettings) -> bool:
    """The last weeks go down, significantly: a rise that has turned, not one that is levelling off."""
    if shape.shape == "step":
        return shape.jump < 0.0
    if shape.shape == "hinge":
        return shape.slope < 0.0
    return shape.slope < -settings.consensus_z * shape.slope_error * AUTOCORRELATION_INFLATION


def _steeper_than(shape: RecentTrend, slope: float, settings: ProphetSettings) -> bool:
    """The last weeks rise faster than ``slope``, significantly (a line) or at all (a hinge)."""
    if shape.shape == "hinge":
        return shape.slope > slope
    if shape.shape == "line":
        return shape.slope - slope > settings.consensus_z * shape.slope_error * AUTOCORRELATION_INFLATION
    return False


def _slowed(shape: RecentTrend, past: np.ndarray, settings: ProphetSettings) -> bool:
    """The last weeks climb at most ``slowing_ratio`` times as fast as the steepest stretch before them
    (``past``: slopes of equally long stretches of the window)."""
    if settings.slowing_ratio is None or past.size == 0:
        return False
    return 0.0 < shape.slope <= settings.slowing_ratio * float(past.max())


def _bends(x: np.ndarray, v: np.ndarray, evidence: float) -> bool:
    """A quadratic beats a line by ``evidence`` (BIC on effective days): growth that speeds up or slows down."""
    n_eff = _effective_days(x.size)
    line = np.polyfit(x, v, 1)
    bend = np.polyfit(x, v, 2)
    line_sse = float(np.sum((np.polyval(line, x) - v) ** 2))
    bend_sse = float(np.sum((np.polyval(bend, x) - v) ** 2))
    return bool(_bic(bend_sse, n_eff, 3) < _bic(line_sse, n_eff, 2) - evidence)


@dataclass(frozen=True)
class SeasonGrowth:
    """The yearly term's size as a line in time (:func:`growing_season`): ``size + growth * years`` times the
    fitted term (never below 0: a shrinking season fades out, it does not turn over), years counted from the
    last day of history."""

    size: float
    growth: float

    def lift(self, fit: ProphetFit, last_day: np.datetime64, days: np.ndarray) -> np.ndarray:
        """Points to add to ``fit``'s forecast on ``days``: its yearly term at this size instead of its own."""
        years = (days - last_day).astype(np.float64) / 365.25
        return (np.maximum(self.size + self.growth * years, 0.0) - 1.0) * yearly_term(fit, days)


def yearly_term(fit: ProphetFit, days: np.ndarray) -> np.ndarray:
    """``fit``'s yearly Fourier term on ``days``, in points (0 without one)."""
    order = fit.settings.yearly_order
    if order <= 0:
        return np.zeros(days.size)
    return seasonal_features(days, order, 0) @ fit.beta[: 2 * order] * fit.y_scale


def weekly_term(fit: ProphetFit, days: np.ndarray) -> np.ndarray:
    """``fit``'s weekly Fourier term on ``days``, in points (0 without one)."""
    order = fit.settings.weekly_order
    if order <= 0:
        return np.zeros(days.size)
    start = 2 * fit.settings.yearly_order
    return seasonal_features(days, 0, order) @ fit.beta[start : start + 2 * order] * fit.y_scale


def _least_squares(design: np.ndarray, values: np.ndarray) -> tuple[float, np.ndarray]:
    """Sum of squared residuals and coefficients of ``values`` regressed on ``design``'s columns."""
    solution, *_ = np.linalg.lstsq(design, values, rcond=None)
    return float(np.sum((values - design @ solution) ** 2)), solution


def growing_season(
    fit: ProphetFit, days: np.ndarray, y: np.ndarray, agreement: float | Literal["read"] | None = "read"
) -> SeasonGrowth | None:
    """How the size of ``fit``'s yearly term changes with time, where it does: the history less its weekly
    term, regressed on its base (:func:`sizes_on_base`) and the yearly term times a line in years (size and
    growth), must beat the same regression at one size by
    ``growing_season_evidence`` (BIC on effective days; ``shape_evidence`` when None). Only for a season every
    pair of consecutive years agrees on strongly (:func:`yearly_agreement` at ``yearly_strong_agreement``: a
    one-off ramp the yearly term soaked up is no season to grow) over two years of history or more. None
    otherwise. ``agreement``: :func:`season_agreement`, read here when not given."""
    sizes = season_sizes(fit, days, y, agreement)
    return None if sizes is None else sizes.growth(fit.settings)


@dataclass(frozen=True)
class SeasonSizes:
    """The yearly term's size regressed as a line in years (:func:`season_sizes`): the fit at one size and
    growing, and the line's coefficients (size, growth per year) with their covariance."""

    fixed_sse: float
    grown_sse: float
    columns: int  # of the growing regression
    days: int  # the history's observed days
    coefficients: np.ndarray  # (size, growth per year)
    covariance: np.ndarray  # 2 x 2, of size and growth

    def growth(self, settings: ProphetSettings) -> SeasonGrowth | None:
        """The growing size where it beats one size by ``growing_season_evidence`` (BIC on effective days;
        ``shape_evidence`` when None), else None (:func:`growing_season`)."""
        n_eff = _effective_days(self.days)
        bar = settings.shape_evidence if settings.growing_season_evidence is None else settings.growing_season_evidence
        if _bic(self.grown_sse, n_eff, self.columns) >= _bic(self.fixed_sse, n_eff, self.columns - 1) - bar:
            return None
        return SeasonGrowth(size=float(self.coefficients[0]), growth=float(self.coefficients[1]))

    def spread(self, last_day: np.datetime64, days: np.ndarray) -> np.ndarray:
        """Standard error of the season's size (a multiplier of the fitted term) on ``days``: the growing
        line's whether or not it beat one size, since a growth too small to tell is still possible."""
        years = (days - last_day).astype(np.float64) / 365.25
        c = self.covariance
        return np.sqrt(np.maximum(c[0, 0] + 2.0 * years * c[0, 1] + years * years * c[1, 1], 0.0))

    def widening(self, fit: ProphetFit, last_day: np.datetime64, future: np.ndarray) -> np.ndarray:
        """How far the uncertainty of the season's next size widens ``fit``'s ``interval_width`` band on
        ``future`` (rows below and above, as :func:`slope_widening`): :meth:`spread` times the yearly term."""
        error = self.spread(last_day, future) * np.abs(yearly_term(fit, future))
        return slope_widening(error, fit.settings.interval_width)


def season_sizes(
    fit: ProphetFit, days: np.ndarray, y: np.ndarray, agreement: float | Literal["read"] | None = "read"
) -> SeasonSizes | None:
    """The history less its weekly term regressed on its base and the yearly term at one size, then at a size
    that is a line in years (:func:`sizes_on_base`, the base each 365-day block's level and slope and, where it
    earns its place, Prophet's trend). Only for a season every pair of consecutive years agrees on strongly
    (:func:`yearly_agreement` at ``yearly_strong_agreement``) over two years of history or more; None otherwise.
    The covariance is least squares' on effective days (the days' residuals are autocorrelated:
    :func:`_effective_days`)."""
    s = fit.settings
    if s.yearly_order <= 0 or (days[-1] - days[0]).astype(np.int64) < 730:
        return None
    season = yearly_term(fit, days)
    if float(season @ season) <= 1e-9:
        return None
    if agreement == "read":
        agreement = season_agreement(days, y, s)
    if agreement is None or agreement < s.yearly_strong_agreement:
        return None
    free = y - weekly_term(fit, days) - calendar_term(fit, days)
    return sizes_on_base(fit.trend(days) * fit.y_scale, season, days, free, s)


def sizes_on_base(
    trend: np.ndarray, season: np.ndarray, days: np.ndarray, values: np.ndarray, settings: ProphetSettings
) -> SeasonSizes:
    """``values`` (the history less its weekly term) regressed on a base and ``season`` (the yearly term, in
    points) at one size, then at a size that is a line in years (:func:`season_sizes`). The base: each 365-day
    block's own level and slope, and ``trend`` (Prophet's, free size). A season that grows raises its year's mean
    too, which the blocks take up; a trend that bends (a ramp, a step), read as one line instead, left an error
    the growing season took up (a season of one size, read as shrinking by 40% a year, was forecast almost flat).
    But Prophet fits its trend beside a season of one size, so where the season grows its changepoints rise into
    each year's top and that trend took up part of the growth: with ``season_size_own_base`` the trend stays in
    the base only where it lowers the BIC (on effective days) by ``shape_evidence``, or where the season does
    not stand clear of its noise (its range under ``season_own_base_min_ratio`` times the residual standard
    deviation with the trend in the base: the blocks' leftover would read as growth)."""
    years = (days - days[-1]).astype(np.float64) / 365.25
    block = (days[-1] - days).astype(np.int64) // 365
    blocks = []
    for b in np.unique(block):
        inside = (block == b).astype(np.float64)
        blocks += [inside, (years - years[block == b].mean()) * inside]
    with_trend = _size_regression([trend, *blocks], season, years, values)
    noise = np.sqrt(with_trend.grown_sse / values.size)
    if not settings.season_size_own_base or np.ptp(season) < settings.season_own_base_min_ratio * noise:
        return with_trend
    own = _size_regression(blocks, season, years, values)
    n_eff = _effective_days(days.size)
    trend_gain = _bic(own.grown_sse, n_eff, own.columns) - _bic(with_trend.grown_sse, n_eff, with_trend.columns)
    return with_trend if trend_gain > settings.shape_evidence else own


def _size_regression(base: list[np.ndarray], season: np.ndarray, years: np.ndarray, values: np.ndarray) -> SeasonSizes:
    """``values`` regressed on the ``base`` columns and ``season`` at one size, then at a size that is a line
    in ``years`` (:func:`season_sizes`)."""
    fixed = np.column_stack([*base, season])
    grown = np.column_stack([fixed, season * years])
    fixed_sse, _ = _least_squares(fixed, values)
    grown_sse, solution = _least_squares(grown, values)
    variance = grown_sse / max(values.size - grown.shape[1], 1) * values.size / _effective_days(values.size)
    covariance = variance * np.linalg.pinv(grown.T @ grown)[-2:, -2:]
    return SeasonSizes(fixed_sse, grown_sse, grown.shape[1], values.size, solution[-2:], covariance)


def consensus_forecast(
    fit: ProphetFit,
    days: np.ndarray,
    y: np.ndarray,
    future: np.ndarray,
    agreement: float | Literal["read"] | None = "read",
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`consensus_reading` without the reading."""
    yhat, widen, _ = consensus_reading(fit, days, y, future, agreement)
    return yhat, widen


def consensus_reading(
    fit: ProphetFit,
    days: np.ndarray,
    y: np.ndarray,
    future: np.ndarray,
    agreement: float | Literal["read"] | None = "read",
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The forecast of :func:`continued_trend` (a point forecast and how far the trend's own uncertainty
    widens the band below and above it), with the yearly term at the size it is growing to where its size
    changes year on year (``growing_seasons``, :func:`growing_season`), the band widened at such a season's top
    by the uncertainty of its next size (``season_size_uncertainty``, :meth:`SeasonSizes.widening`), and a weekly
    cycle that scales with the level where the history shows one (``level_cycle``, :func:`level_cycle`): the
    additive cycle of the model that forecast is taken out and the scaling one, at the forecast's own level, put
    in. ``agreement``: :func:`season_agreement`, read here when not given. Also returns
    :func:`continued_trend`'s reading (READING_WANDERING_LEVEL or None)."""
    if agreement == "read":
        agreement = season_agreement(days, y, fit.settings)
    cycle = level_cycle(fit, days, y, fit.settings.shape_evidence) if fit.settings.level_cycle else None
    yhat, widen, used, reading = continued_trend(
        fit, days, y, future, agreement, cycle if fit.settings.cycle_in_trend else None
    )
    s = used.settings
    # One regression of the season's size serves both readings (growing_seasons, season_size_uncertainty).
    sizes = season_sizes(used, days, y, agreement) if s.growing_seasons or s.season_size_uncertainty else None
    growth = sizes.growth(s) if sizes is not None and s.growing_seasons else None
    if growth is not None:
        yhat = yhat + growth.lift(used, days[-1], future)
    if sizes is not None and s.season_size_uncertainty:
        widen = np.hypot(widen, sizes.widening(used, days[-1], future))
    order = used.settings.weekly_order
    if cycle is None or order <= 0:
        return yhat, widen, reading
    closes = calendar_term(used, future)
    level = yhat - weekly_term(used, future) - closes
    return level + closes + cycle.at(future, np.maximum(level, 0.0)), widen, reading


def continued_trend(
    fit: ProphetFit,
    days: np.ndarray,
    y: np.ndarray,
    future: np.ndarray,
    agreement: float | None,
    cycle: LevelCycle | None = None,
) -> tuple[np.ndarray, np.ndarray, ProphetFit, str | None]:
    """Prophet's forecast, with the trend continued from the recent level where the last weeks disagree, and
    per future day how far the trend's own uncertainty widens the ``interval_width`` band (rows below and
    above, points, added in quadrature): a recent slope carried on undamped because it is steeper than
    anything before it (its standard error, inflated for autocorrelation, times the days ahead, at the band's
    normal quantile), or a staircase's steps to come (:meth:`Staircase.outlook`); 0 where the forecast rests
    on anything else.

    Prophet's last trend segment reads a one-off step inside it (a workload moved onto the host) as a ramp,
    and growth that has levelled off as growth that goes on; a ramp that began after its last changepoint is
    extrapolated at the older, flatter slope. So the last ``recent_window`` days (seasonality removed) are
    read as a line, a step or a hinge (:func:`recent_trend`) and :func:`extrapolation_plan` decides whether
    the trend continues from there. Before that, growth that compounds over the last ``growth_window`` days
    (:func:`compounding_growth`, its curve then read over ``growth_fit_window`` days; a curve too young for that
    window, over ``growth_search_window`` days: :func:`young_curve`) or slows toward a ceiling
    (:func:`saturating_growth`, unless the last weeks fall or still climb faster than the curve) is continued
    as its curve; where the last weeks climb faster than that S-curve but the slowing shows in the data
    (:func:`_slowed`), their slope goes on damped. A series that resets often keeps Prophet's trend, unless its
    whole history is one step the way that trend moves (:func:`step_under_resets`). The seasonality taken
    out before any of these readings is Prophet's, its weekly term replaced by ``cycle`` (a weekly cycle that
    scales with the level, :func:`level_cycle`, at each day's level) when given
    (``cycle_in_trend``), and less its yearly term where the years of history do not agree on one
    (:func:`yearly_agreement`); when the joint fit without that term misses the last weeks by
    ``yearly_refit_min_gap`` points its trend had leaned on the term and the model is fitted again without it
    (:func:`refit_without_yearly`); with under two years, or when the fit still misses the last weeks by
    ``anchor_min_gap`` points, Prophet's own forecast then continues from the last weeks' level. Where none
    of that changes the trend and the whole history is one unbent line (``long_line``), that line continues;
    where it is one step (``since_step``), the line through the days since the step (:func:`line_since_step`);
    where Prophet's own linear trend still rises materially as a wandering level's latest leg
    (``wander_damping``, :func:`wanders`), that rise goes on damped.
    Also returns the model the forecast came from (``fit`` or its refit without the yearly term), and
    READING_WANDERING_LEVEL where the forecast is a wandering level's (None otherwise).
    ``agreement``: :func:`season_agreement` of ``(days, y)``. A history
    that grew in steps (``staircase``, :func:`staircase_growth`) continues from its last level by the mean
    of its simulated steps to come (``staircase_renewal``; else at its average climb), ahead of the growth
    curves and the last weeks' own reading: read over the growth window alone, a staircase's latest step
    looks like compounding growth and a last level that has held for months like growth levelling off. A level
    that wanders (``wandering_levels``, :func:`wandering_level`), unless its last weeks are a step, comes next:
    it continues from its last weeks' level, drifting back where its history shows it does, with a band
    widened by its own past wander.
    """
    s = fit.settings
    offset = 0.0  # added to Prophet's own forecast: re-anchors it to the last weeks once the yearly term goes
    x = (days - days[-1]).astype(np.float64)
    recent = x > -s.recent_window
    if s.yearly_min_agreement is not None and (agreement is None or agreement < s.yearly_min_agreement):
        fit, joint = without_yearly(fit), fit
        gap = float(np.mean(y[recent] - fit.predict(days[recent])))
        if s.yearly_refit_min_gap is not None and abs(gap) >= s.yearly_refit_min_gap:
            fit = refit_without_yearly(joint, days, y)
            s = fit.settings
            gap = float(np.mean(y[recent] - fit.predict(days[recent])))
        short = agreement is None and s.anchor_without_yearly  # under two years: the yearly terms held level
        missed = s.anchor_min_gap is not None and abs(gap) >= s.anchor_min_gap  # they held a one-off rise
        if short or missed:
            offset = gap
    seasonal = seasonal_design(days, s) @ fit.beta * fit.y_scale
    if cycle is not None and s.weekly_order > 0:
        # The weekly cycle that scales with the level, taken out at the level of each day: the additive one,
        # the years' average swing, leaves a weekly sawtooth growing with the level that reads as resets.
        weekly = weekly_term(fit, days)
        level = fit.predict(days) - weekly - calendar_term(fit, days)
        seasonal = seasonal - weekly + cycle.at(days, np.maximum(level, 0.0))
    deseasonalised = y - seasonal
    end_trend = fit.trend(np.array([days[-1] - 1, days[-1]])) * fit.y_scale
    ahead = (future - days[-1]).astype(np.float64)
    none = np.zeros((2, future.size))
    future_seasonal = seasonal_design(future, s) @ fit.beta * fit.y_scale
    if resets(deseasonalised[~recent]) >= s.max_resets:  # its last weeks are one phase of a cycle: no anchor
        stepped = step_under_resets(x, deseasonalised, float(end_trend[1] - end_trend[0]), s)
        if stepped is not None:
            return stepped.at(ahead) + future_seasonal, none, fit, None
        return fit.predict(future), none, fit, None
    shape = recent_trend(
        x[recent], deseasonalised[recent], s.shape_evidence, min_before=s.step_min_before, min_after=s.step_min_after
    )
    if s.hinge_lookback is not None and shape.shape == "line":
        shape = _earlier_hinge(x, deseasonalised, shape, s)
    # Steps first: over the growth window a staircase's last step reads as compounding growth, and a last
    # level that has held for months as growth levelling off toward a ceiling.
    stairs = staircase_growth(x, deseasonalised, s) if s.staircase else None
    if stairs is not None:
        rise, widen = stairs.outlook(ahead, s.interval_width, s.seed, s.staircase_renewal)
        return stairs.level + rise + future_seasonal, widen, fit, None
    # A level that wanders next: its latest leg reads as a ramp, a curve or growth levelling off. A step in the
    # last weeks is a workload moved on or off (the plan's), not a wander's latest leg.
    wander = wandering_level(x, deseasonalised, s) if s.wandering_levels and shape.shape != "step" else None
    if wander is not None:
        return wander.at(ahead) + future_seasonal, wander.widening(ahead), fit, READING_WANDERING_LEVEL
    window = x > -s.growth_window
    if window.sum() >= MOSTLY_OBSERVED * s.growth_window:
        growth = compounding_growth(x, deseasonalised, s)
        if growth is None and not _falling(shape, s):
            growth = saturating_growth(x[window], deseasonalised[window], s)
            if growth is not None and _steeper_than(shape, growth.slope_at(0.0), s):
                # The last weeks still climb faster than the curve would: not levelling off yet. Growth that
                # has visibly slowed goes on slowing; a ramp as steep as ever goes on as a ramp.
                before = window & ~recent
                if _slowed(shape, past_slopes(x[before], deseasonalised[before], s.recent_window), s):
                    return shape.level + shape.slope * _damped(ahead, s.damping) + future_seasonal, none, fit, None
                growth = None
        if growth is not None:
            return growth.at(ahead) + future_seasonal, none, fit, None
    past = ramp_past(x[~recent], deseasonalised[~recent], shape, s)
    explained = s.season_ramp_check and _season_outmoves(fit, days, shape)
    plan = extrapolation_plan(float(end_trend[1] - end_trend[0]), shape, past, s, season_explains_rise=explained)
    # A slope steeper than any stretch before the last weeks is read from those weeks alone, whether the plan
    # carries it on or Prophet's last segment, which then agrees with it, does.
    error = none
    if s.recent_slope_uncertainty and _unprecedented(shape, past):
        drift = ahead * shape.slope_error * slope_inflation(x[recent], deseasonalised[recent], shape, s)
        error = slope_widening(drift, s.interval_width)
    if plan is None:
        whole = recent_trend(x, deseasonalised, s.shape_evidence) if s.long_line or s.since_step else None
        if s.long_line and whole.shape == "line" and not _bends(x, deseasonalised, s.shape_evidence):
            return whole.level + whole.slope * ahead + future_seasonal, none, fit, None
        continued = line_since_step(x, deseasonalised, whole, s) if s.since_step else None
        if continued is not None:
            return continued.at(ahead) + future_seasonal, none, fit, None
        final_slope = float(end_trend[1] - end_trend[0])
        if (
            s.wander_damping
            and s.growth == "linear"
            and final_slope > 0.0
            and wanders(x, deseasonalised, final_slope, s)
        ):
            # Prophet's last segment is a wander's latest leg: its slope goes on damped, not for 180 days (a
            # linear trend's: a logistic one flattens by itself, and taking a straight line off it overshoots).
            damped = final_slope * (_damped(ahead, s.damping) - ahead)
            return fit.predict(future) + offset + damped, error, fit, None
        return fit.predict(future) + offset, error, fit, None
    level, slope, damping = plan
    carried = slope == shape.slope and damping >= 1.0  # not a step's level, nor a slowdown's damped slope
    return level + slope * _damped(ahead, damping) + future_seasonal, error if carried else none, fit, None


@dataclass(frozen=True)
class Staircase:
    """Level shifts of a series read as steps (:func:`staircase_growth`)."""

    starts: np.ndarray  # first day (relative to the last day) of each level after the first
    levels: np.ndarray  # mean of each level, oldest first
    climb: float  # points per day: the rise over the window per day of it

    @property
    def level(self) -> float:
        return float(self.levels[-1])

    def outlook(
        self, ahead: np.ndarray, width: float, seed: int, renewal: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rise over the last level ``ahead`` days on, and how far the steps to come take the ``width`` band
        beyond it (:meth:`widening`). ``renewal``: the rise is the mean of the simulated futures, their gaps
        smoothed (:meth:`simulated_rises`), which counts the days since the last step: flat while the next step
        is not yet due, rising by a step's worth as it comes due (over the next gap where it is already
        overdue). Else the average climb's line, the same every day of the interval, and :meth:`widening`."""
        if not renewal:
            return self.climb * ahead, self.widening(ahead, width, seed)
        rises = self.simulated_rises(ahead, seed, smooth=True)
        centre = rises.mean(axis=0)
        return centre, self._spread(rises, centre, width)

    def widening(self, ahead: np.ndarray, width: float, seed: int, futures: int = 256) -> np.ndarray:
        """How far the steps to come take the ``width`` band beyond the climb's line ``ahead`` days on: rows
        (below, above), points, 0 where they do not (:meth:`simulated_rises`). Regular steps soon after the last
        one add little; an overdue step, a lot."""
        return self._spread(self.simulated_rises(ahead, seed, futures), self.climb * ahead, width)

    @staticmethod
    def _spread(rises: np.ndarray, centre: np.ndarray, width: float) -> np.ndarray:
        """Rows (below, above): how far the ``width`` quantiles of ``rises`` lie beyond ``centre``, 0 inside."""
        low, high = np.quantile(rises, [(1.0 - width) / 2.0, (1.0 + width) / 2.0], axis=0)
        return np.vstack([np.maximum(centre - low, 0.0), np.maximum(high - centre, 0.0)])

    def simulated_rises(self, ahead: np.ndarray, seed: int, futures: int = 256, smooth: bool = False) -> np.ndarray:
        """Rises over the last level ``ahead`` days on, one row per simulated future (``futures`` x days). The
        steps are simulated from the series' own: each gap drawn from the gaps between its steps, each rise from
        its rises. ``smooth``: each drawn gap is moved by a normal draw of :func:`gap_bandwidth` (a smoothed
        bootstrap: two to a few gaps seen say less about the next than their few values), no shorter than half
        the shortest. The first drawn gap is set against the interval under way: one longer than it ends after
        what is left of it; one no longer is overdue and ends on a day drawn evenly within its own length from
        now (a soft reading of the few gaps seen, which leans toward a step soon the longer the interval has
        lasted). :func:`staircase_growth` reads a staircase whose interval under way is longer than twice its
        longest gap as stopped, so no step is overdue by more than one gap."""
        gaps = np.diff(self.starts)
        rises = np.diff(self.levels)
        since = -float(self.starts[-1])  # days from the last step to the last day
        rng = np.random.default_rng(seed)
        shortest = float(gaps.min()) / 2.0 if smooth else float(gaps.min())
        count = int(np.ceil(max(float(ahead.max(initial=0.0)), 1.0) / shortest)) + 1
        drawn = rng.choice(gaps, size=(futures, count))
        if smooth:
            drawn = np.maximum(drawn + gap_bandwidth(gaps) * rng.standard_normal(drawn.shape), shortest)
        first = np.where(drawn[:, 0] > since, drawn[:, 0] - since, drawn[:, 0] * rng.random(futures))
        when = first[:, None] + np.concatenate([np.zeros((futures, 1)), np.cumsum(drawn[:, 1:], axis=1)], axis=1)
        sizes = rng.choice(rises, size=(futures, count))
        rise = np.zeros((futures, ahead.size))
        for step in range(count):  # a few steps at most: one (futures, days) grid each
            rise += sizes[:, step, None] * (when[:, step, None] <= ahead[None, :])
        return rise


def gap_bandwidth(gaps: np.ndarray) -> float:
    """Silverman's rule-of-thumb bandwidth for a smoothed bootstrap of ``gaps`` (days): 0.9 times the smaller
    of their standard deviation and their interquartile range over 1.34 (the standard deviation alone where
    that range is 0), times their count to the power -1/5. 0 when they are all equal or fewer than two."""
    if gaps.size < 2:
        return 0.0
    spread = float(np.std(gaps, ddof=1))
    quartiles = float(np.subtract(*np.quantile(gaps, [0.75, 0.25]))) / 1.34
    return 0.9 * (min(spread, quartiles) if quartiles > 0.0 else spread) * gaps.size**-0.2


def _best_split(total: np.ndarray, lo: int, hi: int, min_segment: int) -> tuple[float, int]:
    """The error saved by splitting the days ``lo..hi-1`` into two levels at the best break (at least
    ``min_segment`` days each side), and that break; (0, -1) when the days are too few. ``total`` is the
    cumulative sum of the values, with a leading 0."""
    breaks = np.arange(lo + min_segment, hi - min_segment + 1)
    if breaks.size == 0:
        return 0.0, -1
    n = hi - lo
    whole = total[hi] - total[lo]
    left_n = breaks - lo
    left = total[breaks] - total[lo]
    right = whole - left
    # A segment's error is sum(v^2) - sum(v)^2 / n; the squares cancel between one segment and its two halves.
    saved = left**2 / left_n + right**2 / (n - left_n) - whole**2 / n
    pick = int(np.argmax(saved))
    return float(saved[pick]), int(breaks[pick])


def level_segments(v: np.ndarray, min_segment: int = SHAPE_MIN_SEGMENT, max_levels: int = 40) -> np.ndarray:
    """Break indexes of ``v`` read as flat levels by binary segmentation: the split that saves most error is
    taken while it lowers the BIC on effective days (a level and a break day: two parameters), every level
    at least ``min_segment`` days long. Returns the sorted first index of every level after the first."""
    total = np.concatenate([[0.0], np.cumsum(v)])
    squares = np.concatenate([[0.0], np.cumsum(v * v)])
    n_eff = _effective_days(v.size)
    sse = float(squares[-1] - total[-1] ** 2 / v.size)
    bounds = [0, v.size]
    candidates = {(0, v.size): _best_split(total, 0, v.size, min_segment)}
    while len(bounds) - 1 < max_levels:
        (lo, hi), (saved, cut) = max(candidates.items(), key=lambda item: item[1][0])
        if cut < 0 or saved <= 0.0 or _bic(sse - saved, n_eff, 2) >= _bic(sse, n_eff, 0):
            break
        sse -= saved
        del candidates[(lo, hi)]
        bounds.append(cut)
        for part in ((lo, cut), (cut, hi)):
            candidates[part] = _best_split(total, part[0], part[1], min_segment)
    return np.array(sorted(bounds)[1:-1], dtype=np.int64)


def _polyline_sse(x: np.ndarray, v: np.ndarray, knots: np.ndarray) -> float:
    """Least-squares error of the continuous line through ``(x, v)`` that bends at each of ``knots``."""
    design = np.column_stack([np.ones_like(x), x, np.maximum(x[:, None] - knots[None, :], 0.0)])
    coefficients, *_ = np.linalg.lstsq(design, v, rcond=None)
    residuals = v - design @ coefficients
    return float(residuals @ residuals)


def _split_evidence(v: np.ndarray, start: int, cut: int, end: int) -> float:
    """How much lower the BIC of ``v[start:end]`` is as two levels split at ``cut`` than as one level, on
    effective days (a split costs two parameters, its level and its day, as in :func:`level_segments`)."""
    whole, left, right = v[start:end], v[start:cut], v[cut:end]
    one = float(np.sum((whole - whole.mean()) ** 2))
    two = float(np.sum((left - left.mean()) ** 2) + np.sum((right - right.mean()) ** 2))
    n_eff = _effective_days(whole.size)
    return float(_bic(one, n_eff, 1) - _bic(two, n_eff, 3))


def _merged_weak_falls(v: np.ndarray, cuts: np.ndarray, evidence: float) -> np.ndarray:
    """``cuts`` less every break where the level falls that does not clear ``evidence`` as two levels against
    one over the days of the two (:func:`_split_evidence`), weakest first, the levels' neighbours read again
    after each merge. :func:`level_segments` splits wherever the BIC drops at all, so a long level whose noise
    drifted by a point or two can come out as two levels, one a little lower; a staircase's steps clear the
    bar many times over (on fresh blind seed 2031 a four-step staircase at 85%, 0.95 likely to breach within
    90 days, had one such fall of 1.4 points, evidence 7 against steps of 180-220, and was forecast flat). A
    fall that beats it (by more than ``evidence``, as every shape test asks) is a real one and still means no
    staircase. Rises are left alone: a weak rise only adds a short gap and a small rise to the steps the band
    is simulated from."""
    kept = [int(cut) for cut in cuts]
    while kept:
        edges = [0, *kept, v.size]
        levels = np.add.reduceat(v, edges[:-1]) / np.diff(edges)
        falls = {
            i: _split_evidence(v, edges[i], edges[i + 1], edges[i + 2])
            for i in range(len(kept))
            if levels[i + 1] <= levels[i]
        }
        if not falls:
            break
        weakest = min(falls, key=falls.__getitem__)
        if falls[weakest] > evidence:
            break  # it beats the bar, as every shape test asks: a real fall
        del kept[weakest]
    return np.asarray(kept, dtype=np.int64)


def _merged_short_levels(x: np.ndarray, v: np.ndarray, cuts: np.ndarray, min_days: float) -> np.ndarray:
    """``cuts`` (indices of ``v`` where :func:`level_segments` starts a new level) less one break for every
    level between two breaks that lasts under ``min_days`` days of ``x``, shortest first: such a level joins
    its neighbour whose mean is nearer its own. Before session 40 one such level (a shift of 1.3 points, 26
    days after a real step) made an eight-step staircase read as no staircase at all."""
    kept = [int(cut) for cut in cuts]
    while len(kept) >= 2:
        edges = np.array([0, *kept, v.size])
        levels = np.add.reduceat(v, edges[:-1]) / np.diff(edges)
        gaps = np.diff(x[kept])
        shortest = int(np.argmin(gaps))
        if float(gaps[shortest]) >= min_days:
            break
        inner = levels[shortest + 1]
        nearer_before = abs(inner - levels[shortest]) <= abs(levels[shortest + 2] - inner)
        del kept[shortest if nearer_before else shortest + 1]
    return np.asarray(kept, dtype=np.int64)


def staircase_growth(x: np.ndarray, v: np.ndarray, settings: ProphetSettings) -> Staircase | None:
    """The staircase of the last ``staircase_window`` days of ``(x, v)`` (days relative to the last day,
    seasonality removed), or None when those days are not one:

    - fewer than ``staircase_min_steps`` level shifts (at least 2), or any of them down: noise around a level,
      or a level that wanders up and down, has a step down. A level between two shifts shorter than
      ``past_window`` days is first merged into its neighbour nearer its mean (:func:`_merged_short_levels`):
      a shift of a point or two that noise split off a longer level is no step, and slices of one ramp (a
      workload moved in over a few weeks) merge into fewer, longer levels, which the tests below weigh
      against ramps. Then a shift down that does not clear ``shape_evidence`` as two levels against one
      (:func:`_merged_weak_falls`) joins its two levels: a level that noise split in two longer halves;
    - an interval under way longer than twice the longest gap between steps: the steps have stopped;
    - levels that do not explain the days better, by ``shape_evidence`` (BIC on effective days; each step
      counts two parameters, the first level one), than ramps through the same days (a line bending at every
      break: growth that speeds up or levels off, read as levels, is fitted as well or better by it), and,
      without ``staircase_many_steps``, than the best line and the best hinge (a ramp read as levels needs many
      steps and loses to its line, but it loses to the ramps already; so does a staircase of many small steps,
      whose steps follow its line).
    """
    window = x > -settings.staircase_window
    xw, vw = x[window], v[window]
    min_steps = max(settings.staircase_min_steps, 2)
    if xw.size < (min_steps + 1) * SHAPE_MIN_SEGMENT:
        return None
    cuts = _merged_short_levels(xw, vw, level_segments(vw), settings.past_window)
    cuts = _merged_weak_falls(vw, cuts, settings.shape_evidence)
    if cuts.size < min_steps:
        return None
    edges = np.concatenate([[0], cuts, [vw.size]])
    levels = np.add.reduceat(vw, edges[:-1]) / np.diff(edges)
    starts = xw[cuts]
    gaps = np.diff(starts)
    if np.any(np.diff(levels) <= 0.0):
        return None
    if -float(starts[-1]) > 2.0 * float(gaps.max()):
        return None
    fitted = np.repeat(levels, np.diff(edges))
    sse = float(np.sum((vw - fitted) ** 2))
    params = 2 * cuts.size + 1
    n_eff = _effective_days(xw.size)
    ramps = _bic(_polyline_sse(xw, vw, starts), n_eff, cuts.size + 2)
    if _bic(sse, n_eff, params) >= ramps - settings.shape_evidence:
        return None
    line_check = not settings.staircase_many_steps
    if line_check and _evidence_over_line_and_hinge(xw, vw, sse, params=params) <= settings.shape_evidence:
        return None
    span = float(xw[-1] - xw[0]) + 1.0
    return Staircase(starts=starts, levels=levels, climb=float(levels[-1] - levels[0]) / span)


def _earlier_hinge(x: np.ndarray, v: np.ndarray, line: RecentTrend, settings: ProphetSettings) -> RecentTrend:
    """The hinge of the last ``hinge_lookback`` days where its ramp began inside the last ``recent_window`` days
    but before the first break a hinge there can have (``SHAPE_MIN_SEGMENT`` days in): a ramp that began too near the
    window's start to be told from a line in it. Else the window's ``line``. A break the window could hold was
    already weighed there: taken from the longer days, a step in the last weeks read as a short steep ramp."""
    lookback = settings.hinge_lookback
    window = x[x > -settings.recent_window]
    if lookback is None or lookback <= settings.recent_window or window.size <= SHAPE_MIN_SEGMENT:
        return line
    longer = x > -lookback
    wide = recent_trend(x[longer], v[longer], settings.shape_evidence)
    if wide.shape == "hinge" and window[0] <= wide.since < window[SHAPE_MIN_SEGMENT]:
        return wide
    return line


SINCE_STEP_RECENT_DAYS = 28  # the last days a flat level since a step must explain (the young level's too)


@dataclass(frozen=True)
class SinceStep:
    """The line through the days since the whole history's step (:func:`line_since_step`), and where its flat
    level does not explain the last weeks, how far they sit off it and the weekly pace that gap closes at."""

    level: float  # at the last day
    slope: float  # per day
    gap: float = 0.0  # the last SINCE_STEP_RECENT_DAYS days' mean less the level (0: they agree)
    persistence: float = 0.0  # the weekly means' AR(1) coefficient since the step, in [0, 1]

    def at(self, ahead: np.ndarray) -> np.ndarray:
        """The trend ``ahead`` days on: the line, plus the last weeks' gap closing at the weekly pace."""
        return self.level + self.slope * ahead + self.gap * self.persistence ** (ahead / 7.0)


def line_since_step(x: np.ndarray, v: np.ndarray, whole: RecentTrend, settings: ProphetSettings) -> SinceStep | None:
    """The line through the days since the whole history's step, or None when the history is not one step
    (``whole``: :func:`recent_trend` over every day), the step is under ``since_step_min_days`` old, or the days
    since it bend. The slope is 0 unless it is significant (by ``consensus_z`` standard errors, inflated by
    :func:`slope_inflation`); a flat level that does not explain the last weeks starts from them
    (``since_step_recent_pull``: :func:`recent_pull`)."""
    if whole.shape != "step" or -whole.since < settings.since_step_min_days:
        return None
    after = x >= whole.since
    if _bends(x[after], v[after], settings.shape_evidence):
        return None
    line = recent_trend(x[after], v[after], float("inf"))
    significant = abs(line.slope) > settings.consensus_z * line.slope_error * slope_inflation(
        x[after], v[after], line, settings
    )
    if significant:
        return SinceStep(line.level, line.slope)
    flat = SinceStep(float(np.mean(v[after])), 0.0)
    return recent_pull(x[after], v[after], flat, settings) if settings.since_step_recent_pull else flat


def step_under_resets(x: np.ndarray, v: np.ndarray, final_slope: float, settings: ProphetSettings) -> SinceStep | None:
    """The trend of a series that resets often (``v``: its days, seasonality removed) whose whole history is one
    step, up or down, the way Prophet's last segment moves (``final_slope``) by enough to matter
    (``material_points`` over ``material_days``, as :func:`extrapolation_plan` asks): the line through the days
    since the step (:func:`line_since_step`), or where the step is under ``since_step_min_days`` old, the level
    since it, flat (the mean of a cycle's phase or two: a few points off at most). None where ``reset_steps`` or
    ``since_step`` is off, the last segment is about flat, the history is no such step, or the days since an old
    step bend. An autoscaled pool's member (climbs, then drops when the pool scales out) whose first weeks sat
    at another level read as one old step; its flat long-run trend stays Prophet's."""
    if not (settings.reset_steps and settings.since_step):
        return None
    if abs(final_slope) * settings.material_days < settings.material_points:
        return None
    whole = recent_trend(x, v, settings.shape_evidence)
    if whole.shape != "step" or np.sign(whole.jump) != np.sign(final_slope):
        return None
    if -whole.since >= settings.since_step_min_days:
        return line_since_step(x, v, whole, settings)
    return SinceStep(float(np.mean(v[x >= whole.since])), 0.0)


def recent_pull(x: np.ndarray, v: np.ndarray, flat: SinceStep, settings: ProphetSettings) -> SinceStep:
    """``flat`` (the mean of the days ``x, v`` since a step), starting from the last SINCE_STEP_RECENT_DAYS days'
    mean where it lies outside the level's own one-day ``interval_width`` band (the days' standard deviation,
    times the root of 1 + 1/n for the level's own error) and drifting back at the weekly means' AR(1) pace
    (least squares with a constant, as :func:`wandering_level` reads it, clipped to 0-1): a level that wanders,
    not one that holds."""
    recent = float(np.mean(v[x > -SINCE_STEP_RECENT_DAYS]))
    z = NormalDist().inv_cdf(0.5 + settings.interval_width / 2.0)
    band = z * float(np.std(v, ddof=1)) * np.sqrt(1.0 + 1.0 / v.size)
    if abs(recent - flat.level) <= band:
        return flat
    weeks = weekly_means(x, v)
    _, (_, coefficient) = _least_squares(np.column_stack([np.ones(weeks.size - 1), weeks[:-1]]), weeks[1:])
    return replace(flat, gap=recent - flat.level, persistence=float(np.clip(coefficient, 0.0, 1.0)))


def slope_inflation(x: np.ndarray, v: np.ndarray, shape: RecentTrend, settings: ProphetSettings) -> float:
    """The factor a slope's least-squares standard error is inflated by for autocorrelated days: the fixed
    AUTOCORRELATION_INFLATION, or :func:`residual_inflation` of these days where that is more and
    ``residual_autocorrelation`` is on."""
    if not settings.residual_autocorrelation:
        return AUTOCORRELATION_INFLATION
    return max(AUTOCORRELATION_INFLATION, residual_inflation(x, v, shape))


def residual_inflation(x: np.ndarray, v: np.ndarray, shape: RecentTrend, max_autocorrelation: float = 0.9) -> float:
    """How much a least-squares slope's standard error understates its spread on these days: sqrt((1 + r) /
    (1 - r)) for the lag-1 autocorrelation r of the residuals around ``shape`` (a line, or a hinge from its
    break day), less r's small-sample bias (about -(1 + 3r) / n), kept within 0 .. ``max_autocorrelation``."""
    start = shape.since if shape.shape == "hinge" else -np.inf
    residuals = v - (shape.level + shape.slope * np.maximum(x, start))
    residuals = residuals - residuals.mean()
    squares = float(residuals @ residuals)
    if residuals.size < 3 or squares <= 0.0:
        return 1.0
    r = float(residuals[1:] @ residuals[:-1]) / squares
    r = min(max(r + (1.0 + 3.0 * r) / residuals.size, 0.0), max_autocorrelation)  # less its small-sample bias
    return float(np.sqrt((1.0 + r) / (1.0 - r)))


def _unprecedented(shape: RecentTrend, past: np.ndarray) -> bool:
    """The last weeks are a line or a hinge (a step has no slope) steeper than every stretch before them."""
    steep = shape.slope != 0.0 and np.isfinite(shape.slope_error)
    return steep and (past.size == 0 or abs(shape.slope) > float(np.max(np.abs(past))))


def _season_outmoves(fit: ProphetFit, days: np.ndarray, shape: RecentTrend) -> bool:
    """Whether ``fit``'s yearly term moves by more, over the days the last weeks' ``shape`` rose on (a hinge's
    since its break, a line's whole window), than that rise: such a rise cannot be told from the yearly term's
    own misfit there. A season that ends abruptly at the year's end (its Fourier terms already falling through
    the last weeks of December, the data not) read as a ramp steeper than anything before, and was carried on
    to 130-160%. False for a fall."""
    if shape.slope <= 0.0:
        return False
    x = (days - days[-1]).astype(np.float64)
    start = shape.since if shape.shape == "hinge" else -float(fit.settings.recent_window)
    inside = x >= start
    if inside.sum() < 2:
        return False
    season = yearly_term(fit, days[inside])
    return float(season.max() - season.min()) > shape.slope * float(-x[inside][0])


def _damped(ahead: np.ndarray, damping: float) -> np.ndarray:
    """Days of a trend damped by ``damping`` a day: the sum of damping^k for k = 1..h (h itself when 1)."""
    if damping >= 1.0:
        return ahead
    return damping * (1.0 - damping**ahead) / (1.0 - damping)


def _training_points(series: Series, last_day: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    keep = series.observed() & (series.ds <= last_day)
    return series.ds[keep], series.y[keep]


def _segment(
    series: Series,
    windows: ForecastWindows,
    cut: date,
    days: np.ndarray,
    settings: ProphetSettings,
    quantiles: HorizonQuantiles | None,
) -> tuple[Band, ProphetSettings, str | None]:
    """Fit on observed days up to ``cut``, predict ``days``, put the interval around it. Also returns the
    fit's settings (its ``yearly_order``: the number of yearly Fourier terms it kept, more than the settings'
    where the years agree on a sharp season, :func:`sharper_season`; its ``calendar_peaks``: whether it took
    the calendar columns, :func:`with_calendar_peaks`) and the forecast's reading (:func:`consensus_reading`)."""
    train_days, train_y = _training_points(series, np.datetime64(cut, "D"))
    agreement = season_agreement(train_days, train_y, settings)
    fit = sharper_season(with_calendar_peaks(train_days, train_y, settings), train_days, train_y, agreement)
    widen = np.zeros((2, days.size))
    reading = None
    if settings.extrapolation == "consensus":
        yhat, widen, reading = consensus_reading(fit, train_days, train_y, days, agreement)
    else:
        yhat = fit.predict(days)
    scale = yardstick(series, np.datetime64(windows.history_start, "D"), np.datetime64(cut, "D"), fit, settings)
    if quantiles is None:
        lower, upper = interval_bounds(fit, days, yhat)
    else:
        lower, upper = quantiles.bounds(yhat, scale)
    if np.any(widen > 0.0):
        lower, upper = widened(yhat, lower, upper, widen)
    return Band.bounded(yhat, lower, upper, scale=scale), fit.settings, reading


def yardstick(
    series: Series, start: np.datetime64, cut: np.datetime64, fit: ProphetFit, settings: ProphetSettings
) -> float:
    """The scale a calibrated band around this fit's forecast is drawn in: :func:`series.series_scale` of the
    history ``start .. cut`` (:func:`series.scale_until`), less the fit's yearly term where the years agree on a
    sharp season (``season_free_yardstick``: the fit climbed past ``yearly_order``), and less its month-end and
    quarter-end term where it took one (:func:`with_calendar_peaks`): the forecast places those closes, so the
    week-on-week jumps into and out of them are no error its band must cover."""
    values, _ = daily_grid(series, start, cut)
    days = np.arange(start, cut + 1)
    if settings.season_free_yardstick and fit.settings.yearly_order > settings.yearly_order:
        values = values - yearly_term(fit, days)
    if fit.settings.calendar_peaks:
        values = values - calendar_term(fit, days)
    return series_scale(values)


def slope_widening(drift_error: np.ndarray, width: float) -> np.ndarray:
    """How far a slope's uncertainty widens a ``width`` band, the same below and above (rows of
    :func:`widened`): the band's normal quantile of the error it builds up (``drift_error``: the slope's
    standard error times the days carried)."""
    spread = NormalDist().inv_cdf(0.5 + width / 2.0) * drift_error
    return np.vstack([spread, spread])


def widened(yhat: np.ndarray, lower: np.ndarray, upper: np.ndarray, widen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds around ``yhat`` widened in quadrature on each side by ``widen`` (rows below and above, points at
    the band's own width): an independent source of error added to the band's. Applied before the bounds are
    clipped to 0-100, so a forecast well past 100 stays there."""
    return yhat - np.hypot(yhat - lower, widen[0]), yhat + np.hypot(upper - yhat, widen[1])


def prophet_forecast(
    series: Series,
    windows: ForecastWindows,
    settings: ProphetSettings | None = None,
    quantiles: HorizonQuantiles | None = None,
    segments: Sequence[str] = (SEGMENT_BACKTEST, SEGMENT_FORECAST),
) -> SeriesForecast:
    """Backtest (fit before ``backtest_start``) and production (refit on everything) forecasts of one series.

    Pure: arrays in, arrays out; knows nothing of pools, clusters or dbt. ``quantiles`` (calibrated
    intervals, see :mod:`.intervals`) replace Prophet's sampled interval when given.
    """
    settings = settings or ProphetSettings()
    started = time.perf_counter()
    observed_days = int(series.observed().sum())
    result = SeriesForecast(series.host_id, series.resource, MODEL_NAME, STATUS_OK, observed_days=observed_days)
    problem = history_problem(series, windows, settings.history)
    if problem is not None:
        result.status, result.error = STATUS_INSUFFICIENT, problem
        return result
    plan = {
        SEGMENT_BACKTEST: (windows.train_end, windows.backtest_dates()),
        SEGMENT_FORECAST: (windows.history_end, windows.forecast_dates()),
    }
    fitted: dict[str, ProphetSettings] = {}
    readings: dict[str, str | None] = {}
    try:
        for segment in segments:
            cut, days = plan[segment]
            band, fitted[segment], readings[segment] = _segment(series, windows, cut, days, settings, quantiles)
            setattr(result, segment, band)
    except Exception as exc:  # one series' failure is a run-log row, never a fleet failure
        result = failed(series.host_id, series.resource, MODEL_NAME, f"{type(exc).__name__}: {exc}")
        result.observed_days = observed_days
    result.fit_seconds = time.perf_counter() - started
    if result.status == STATUS_OK:
        result.detail = {"growth": settings.growth, "interval": "calibrated" if quantiles else "prophet"}
        if SEGMENT_FORECAST in fitted:
            # The production fit's yearly order: model_leaderboard reads a sharp season from it (YEARLY_TERMS_KEY).
            result.detail[YEARLY_TERMS_KEY] = fitted[SEGMENT_FORECAST].yearly_order
            if fitted[SEGMENT_FORECAST].calendar_peaks:
                result.detail[CALENDAR_KEY] = "true"
        if readings.get(SEGMENT_FORECAST) is not None:
            # The production fit's reading: forecasts gives a wandering level this engine's band (READING_KEY).
            result.detail[READING_KEY] = readings[SEGMENT_FORECAST]
    return result


@dataclass(frozen=True)
class ProphetParams:
    settings: ProphetSettings = field(default_factory=ProphetSettings)
    quantiles: HorizonQuantiles | None = None
    segments: tuple[str, ...] = (SEGMENT_BACKTEST, SEGMENT_FORECAST)
    kept: frozenset[tuple[str, str]] = frozenset()  # series whose backtest is kept from the last run (no fit)


def prophet_chunk(chunk: Sequence[Series], windows: ForecastWindows, params: ProphetParams) -> list[SeriesForecast]:
    """The fleet runner's entry point: :func:`prophet_forecast` for each series of ``chunk`` (only the
    production forecast of a series in ``params.kept``)."""
    production = tuple(segment for segment in params.segments if segment != SEGMENT_BACKTEST)

    def segments(series: Series) -> Sequence[str]:
        return production if series.key in params.kept else params.segments

    return [prophet_forecast(s, windows, params.settings, params.quantiles, segments(s)) for s in chunk]
