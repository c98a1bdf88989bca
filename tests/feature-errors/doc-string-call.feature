Feature: a mistake in a doc string is reported at its character

  Scenario: doc string input
    Given the world "../../scenarios/worlds/example.yaml"
    When I call DescribeBackups with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      SortAscending true
      """
