"""Azure regions: the programmatic name (``eastus``) and the display name (``East US``).

Data-plane answers name the serving region by display name (``x-ms-region: East US``); ARM and
the world file use the programmatic name. Names as ``az account list-locations`` prints them.
"""

from __future__ import annotations

DISPLAY_NAMES = {
    "global": "Global",
    "australiaeast": "Australia East",
    "brazilsouth": "Brazil South",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "eastus": "East US",
    "eastus2": "East US 2",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "italynorth": "Italy North",
    "japaneast": "Japan East",
    "koreacentral": "Korea Central",
    "northcentralus": "North Central US",
    "northeurope": "North Europe",
    "norwayeast": "Norway East",
    "polandcentral": "Poland Central",
    "southafricanorth": "South Africa North",
    "southcentralus": "South Central US",
    "southindia": "South India",
    "spaincentral": "Spain Central",
    "swedencentral": "Sweden Central",
    "switzerlandnorth": "Switzerland North",
    "uaenorth": "UAE North",
    "uksouth": "UK South",
    "westeurope": "West Europe",
    "westus": "West US",
    "westus3": "West US 3",
}


def display_name(location: str) -> str:
    """``East US`` for ``eastus``; an unknown name is returned as it is."""
    return DISPLAY_NAMES.get(location.lower().replace(" ", ""), location)
