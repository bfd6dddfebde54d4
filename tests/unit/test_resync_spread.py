"""Full resyncs, one poll in ``FULL_RESYNC_EVERY``, are offset by each project's id: projects
polled together do not all list every server in the same cycle."""
import uuid

from app.snapshot.refresh import one_poll_in


def test_full_resyncs_of_projects_polled_together_are_spread_over_the_cycles():
    projects = [uuid.uuid5(uuid.NAMESPACE_URL, f"project-{n}").hex for n in range(1000)]
    every = 10

    per_cycle = [sum(one_poll_in(project, cycle, every) for project in projects)
                 for cycle in range(1, every + 1)]
    each = [[cycle for cycle in range(1, 3 * every + 1) if one_poll_in(project, cycle, every)]
            for project in projects[:20]]

    assert sum(per_cycle) == len(projects) and max(per_cycle) < 2 * len(projects) / every
    assert all(len(cycles) == 3 and cycles[1] - cycles[0] == every for cycles in each)
    assert len({cycles[0] for cycles in each}) > 1  # not in lockstep
