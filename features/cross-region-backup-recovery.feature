@regions
Feature: Cross-Region recovery from a copied backup
  docs/server.md, "Regions and accounts"; mirrors the start of
  scenarios/cross-region-backup-recovery.runbook. CopyBackupToRegion copies a
  READY backup into another Region of the same account, where it becomes
  READY in its turn and names its SourceRegion, SourceBackup and
  SourceCluster. The recovery Region has nothing else of the source's.

  Scenario: a backup copied to eu-west-1 is READY there and names its source
    Given the world "../scenarios/worlds/regions.yaml"
    When in region "eu-west-1" I call DescribeBackups
    Then the response has "Backups" equal to "[]"
    When I call CopyBackupToRegion with:
      | BackupId          | backup-9g87f6edcba |
      | DestinationRegion | eu-west-1          |
    Then the response has "DestinationBackup.SourceRegion" equal to "us-west-2"
    When pending work settles
    And in region "eu-west-1" I call DescribeBackups with:
      | Filters | {"sourceBackupIds": ["backup-9g87f6edcba"]} |
    Then the response has "Backups[0].BackupState" equal to "READY"
    And the response has "Backups[0].SourceCluster" equal to "cluster-1a23b4cdefg"
    When in region "eu-west-1" I call ListKeys
    Then the response has "Keys" equal to "[]"
