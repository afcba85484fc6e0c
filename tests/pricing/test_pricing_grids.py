"""Rate and amount grids: rounding in the right direction, float noise ignored."""

from __future__ import annotations

from fengkong.pricing import AmountGrid, RateGrid


def test_rate_step_grid() -> None:
    grid = RateGrid(step=0.0001)
    assert grid.up(0.14110625) == 0.1412
    assert grid.down(0.14110625) == 0.1411
    assert grid.up(0.1 + 0.2) == 0.3  # 0.30000000000000004 is on the grid point
    assert grid.down(0.07 * 3) == 0.21  # 0.21000000000000002
    assert grid.spread(0.10, 0.20, 3) == [0.1, 0.15, 0.2]
    assert grid.spread(0.10, 0.1002, 10) == [0.1, 0.1001, 0.1002]
    assert grid.spread(0.2, 0.1, 5) == []


def test_rate_points_grid() -> None:
    grid = RateGrid(step=None, points=(0.0799, 0.0999, 0.1299))
    assert grid.up(0.08) == 0.0999
    assert grid.up(0.0999) == 0.0999
    assert grid.up(0.13) is None
    assert grid.down(0.0998) == 0.0799
    assert grid.down(0.05) is None
    assert grid.spread(0.08, 0.2, 5) == [0.0999, 0.1299]


def test_amount_grid_rounds_down() -> None:
    grid = AmountGrid(minimum=1000, maximum=50_000, step=100)
    assert grid.down(12_399.99) == 12_300
    assert grid.down(12_300.0) == 12_300
    assert grid.down(3 * 4100.0 / 3) == 4100
    assert grid.down(-5.0) == 0
    assert grid.spread(10_000, 4) == [1000, 4000, 7000, 10_000]
    assert AmountGrid(1000, 50_000, 1000).spread(1500, 5) == [1000]
